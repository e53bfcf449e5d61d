"""Debian's Chromium driven by Playwright for the console's tests (no browser is downloaded).

Tests skip, saying why, only where the browser or the console's build is truly absent:
``.ci/run`` installs Chromium with apt and ``make test`` builds the console first.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import REPO

CHROMIUM = Path(os.environ.get("ATHANOR_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO / "out" / "console"


def require_browser() -> None:
    """Skip the test when Chromium or the console's build is missing."""
    from athanor.server.console import console_built

    if not CHROMIUM.is_file():
        pytest.skip(
            f"no Chromium at {CHROMIUM}: install Debian's 'chromium' package "
            "(.ci/run does, with apt) to run the console's browser tests"
        )
    if not console_built():
        pytest.skip("the console is not built: 'make test' builds web/ with npm first")


@contextmanager
def chromium(profile: Path) -> Iterator:
    """A browser context on a fresh user-data-dir, 1366x900, English first."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1366, "height": 900},
            locale="en-US",
            accept_downloads=True,
        )
        try:
            yield context
        finally:
            context.close()


class Shots:
    """Saves full-page screenshots as ``out/console/<folder>/<name>.png``."""

    def __init__(self, folder: str) -> None:
        self.folder = SCREENSHOTS / folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.taken: list[Path] = []

    def take(self, page, name: str) -> Path:
        path = self.folder / f"{re.sub(r'[^A-Za-z0-9_.-]', '-', name)}.png"
        # A page scrolled by an earlier click would draw its sticky header and sidebar
        # halfway down the full-page image.
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path
