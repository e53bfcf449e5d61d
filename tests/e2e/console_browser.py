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
from typing import TYPE_CHECKING

import pytest

from tests.conftest import REPO

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

    from tests.server.conftest import PlatformProcess

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


def signed_in_page(
    context: BrowserContext, platform: PlatformProcess, timeout_ms: int = 30_000
) -> tuple[Page, list[str]]:
    """A new page signed in to ``platform`` by its one-time console link, with
    ``timeout_ms`` as its default timeout, and the list its page errors are collected in."""
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(platform.login_link())  # signs in, then lands on the overview
    return page, errors


def choose_upload(page: Page, field: str, path: Path) -> None:
    """Open the datasets page's import dialog and choose ``path`` in its ``field`` input
    (``folder`` or ``files``); the dataset's name defaults to the file or folder's."""
    from playwright.sync_api import expect

    page.click("[data-nav='/datasets']")
    page.click("[data-action=import]")
    page.set_input_files(f"[data-input={field}]", str(path))
    expect(page.locator("#dataset-name")).to_have_value(path.stem)


def import_image_folder(page: Page, folder: Path) -> None:
    """Upload ``folder`` as an image dataset in the import dialog; waits for its page."""
    choose_upload(page, "folder", folder)
    page.select_option("#dataset-kind", "images")
    page.click("[data-action=start-import]")
    page.wait_for_url(f"**/datasets/{folder.name}%40*")


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
