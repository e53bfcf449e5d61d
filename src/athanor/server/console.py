"""The web console: its built files (``web/`` compiled by Vite) served at ``/``.

The API lives under ``/v1``. A ``GET`` of any other path that no route serves is answered
from the console's build: one of its files, or its ``index.html``, so that the browser's
router shows the page (``/jobs/7`` after a reload). The build lies in
``athanor/server/console/`` (``make run`` and ``make test`` write it from ``web/``); without
it ``/`` explains how to build it, and the API works as before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CONSOLE_DIR = Path(__file__).resolve().parent / "console"

NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Athanor</title></head><body style="font-family: sans-serif; margin: 3rem">
<h1>Athanor</h1><p>The platform runs, but its web console is not built in this installation.
In a checkout, <code>make run</code> builds it from <code>web/</code> (it needs Node.js and
npm). The REST API works without it: see <a href="/docs">/docs</a>.</p></body></html>"""

API_PREFIXES = ("/v1/", "/v2/", "/openapi.json", "/docs")  # /v2: the Open Inference Protocol


def is_console_path(path: str) -> bool:
    """Whether ``path`` belongs to the console (its pages and files) rather than the API.

    The console's files hold no data, so they are served without a token; the console then
    calls the API, which asks for one from clients beyond this machine.
    """
    return path not in ("/v1", "/v2") and not path.startswith(API_PREFIXES)


def console_built(folder: Path = CONSOLE_DIR) -> bool:
    """Whether the console's build is present."""
    return (folder / "index.html").is_file()


def console_response(path: str, folder: Path = CONSOLE_DIR) -> Any:
    """What ``GET path`` answers from the console: a file of the build, its ``index.html``
    for a page of the console's router, or ``None`` for a missing file (a 404).

    Args:
        path: the request's path (``/``, ``/jobs/7``, ``/assets/index-3f2a.js``).
        folder: the Vite build (``index.html`` and ``assets/``).
    """
    from fastapi.responses import FileResponse, HTMLResponse

    root = folder.resolve()
    if not console_built(root):
        return HTMLResponse(NOT_BUILT) if path in ("", "/") else None
    relative = path.lstrip("/")
    if relative:
        candidate = (root / relative).resolve()
        if candidate.is_relative_to(root) and candidate.is_file():
            # Vite names assets by their content's hash: one name never changes content.
            cache = (
                "public, max-age=31536000, immutable"
                if relative.startswith("assets/")
                else "no-cache"
            )
            return FileResponse(candidate, headers={"Cache-Control": cache})
        if relative.startswith("assets/") or "." in relative.rsplit("/", 1)[-1]:
            return None  # a file that is not there, not a page
    return FileResponse(root / "index.html", headers={"Cache-Control": "no-cache"})
