"""The REST API's OpenAPI document, without a running platform.

``python -m athanor.server.openapi > web/openapi.json`` prints it; the web console's
TypeScript types are generated from it (``make api-types``). The document is built by the
same app factory as a served platform, over an empty store in a temporary folder, and
printed with sorted keys so that the same API always gives the same text.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from athanor.jobs.machine import Machine
from athanor.server.app import create_app
from athanor.server.context import PlatformContext
from athanor.settings import Settings
from athanor.store import open_store
from athanor.store.database import dispose_engines


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI document, as a served platform answers it at ``/openapi.json``."""
    with tempfile.TemporaryDirectory(prefix="athanor-openapi-") as folder:
        home = Path(folder)
        settings = Settings(home=home, db_url=f"sqlite:///{home / 'athanor.db'}", data_mirrors=())
        # A fixed machine: the document must not depend on the one that prints it.
        machine = Machine(host="localhost", gpus=(), cpus=1, memory_gb=None)
        try:
            app = create_app(PlatformContext(store=open_store(settings), machine=machine))
            return app.openapi()
        finally:
            dispose_engines()


def openapi_text() -> str:
    """The document as JSON text: keys sorted, two-space indents, one final newline."""
    return json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    # UTF-8 whatever the locale says: a description may hold any character.
    sys.stdout.buffer.write(openapi_text().encode())


if __name__ == "__main__":
    main()
