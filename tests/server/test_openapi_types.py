"""The OpenAPI document printed without a platform, and the console's types generated from it."""

from __future__ import annotations

import difflib
import json
import shutil
import subprocess
import sys

import pytest

from athanor.jobs.machine import detect_machine
from athanor.server.app import create_app
from athanor.server.context import PlatformContext
from athanor.server.openapi import openapi_text
from athanor.store import open_store
from tests.conftest import REPO

WEB = REPO / "web"
TYPES = WEB / "src" / "api-types.ts"
GENERATOR = WEB / "scripts" / "api-types.mjs"
REGENERATE = "make api-types (see docs/console.md)"


def test_printed_document_is_the_served_one_whatever_the_store_and_machine() -> None:
    served = create_app(
        PlatformContext(store=open_store(), machine=detect_machine("none", cpus=3))
    ).openapi()
    printed = subprocess.run(
        [sys.executable, "-m", "athanor.server.openapi"],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout.decode()
    assert json.loads(printed) == served
    assert printed == openapi_text()  # the same text each time: keys sorted
    assert printed.endswith("}\n")


def test_console_api_types_are_those_the_document_gives() -> None:
    node = shutil.which("node")
    if node is None or not (WEB / "node_modules" / "openapi-typescript").is_dir():
        pytest.skip("the console's npm packages are not installed (make console installs them)")
    generated = subprocess.run(
        [node, str(GENERATOR)],
        input=openapi_text(),
        cwd=WEB,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert generated.returncode == 0, generated.stderr
    committed = TYPES.read_text(encoding="utf-8")
    if generated.stdout != committed:
        diff = difflib.unified_diff(
            committed.splitlines(),
            generated.stdout.splitlines(),
            "web/src/api-types.ts (committed)",
            "generated from the API",
            lineterm="",
            n=1,
        )
        shown = "\n".join(list(diff)[:60])
        pytest.fail(
            f"web/src/api-types.ts is not what the API's OpenAPI document gives; "
            f"regenerate it with {REGENERATE}, then fix what the console's type check "
            f"(cd web && npm run build) reports:\n{shown}",
            pytrace=False,
        )
