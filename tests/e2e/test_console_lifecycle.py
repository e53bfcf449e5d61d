"""The console asks before it destroys: cancelling a job and stopping a deployment open a
dialog that says what happens, whose safe choice keeps things as they are; every page names
itself and its item in the browser tab, in the console's language."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.e2e.console_browser import Shots, chromium, require_browser, signed_in_page
from tests.server.conftest import PlatformProcess

PAGE_TIMEOUT_MS = 30_000
# An XOR network trained for far longer than the test: it is running when the console cancels it.
LONG_JOB = {
    "spec": {
        "name": "long-xor",
        "data": {"dataset": "xor", "split": "none", "normalize": "none"},
        "model": {"template": "mlp", "hidden": [8]},
        "train": {"epochs": 100_000, "batch_size": 4},
    }
}


def test_cancel_asks_first_and_pages_name_themselves(platform_factory, tmp_path: Path) -> None:
    require_browser()
    platform: PlatformProcess = platform_factory(
        "--cpus", "1", "--gpus", "none", "--warm-workers", "0"
    )
    platform.start()
    owner = {"Authorization": f"Bearer {platform.owner_token}"}
    with httpx.Client(base_url=platform.url, timeout=30) as api:
        submitted = api.post("/v1/jobs", json=LONG_JOB, headers=owner)
        assert submitted.status_code == 201, submitted.text
        job = submitted.json()["id"]
    shots = Shots("lifecycle")
    with chromium(tmp_path / "profile") as context:
        page, errors = signed_in_page(context, platform, PAGE_TIMEOUT_MS)
        page.set_viewport_size({"width": 1440, "height": 900})
        page.wait_for_selector("[data-me]")
        assert page.title() == "Overview · Athanor"
        page.goto(f"{platform.url}/jobs/{job}")
        page.wait_for_selector("h1 [data-status=running]", timeout=60_000)
        assert page.title() == f"Job #{job} · Athanor"

        # The safe choice has the focus: Enter keeps the job running.
        page.click("[data-action=cancel]")
        dialog = page.locator("[data-confirm-dialog]")
        dialog.wait_for(state="visible")
        assert f"Cancel job #{job}?" in dialog.inner_text()
        shots.take(page, "en-cancel-dialog")
        page.keyboard.press("Enter")
        dialog.wait_for(state="hidden")
        page.wait_for_timeout(500)
        with httpx.Client(base_url=platform.url, timeout=30) as api:
            assert api.get(f"/v1/jobs/{job}", headers=owner).json()["status"] == "running"

        page.click("[data-locale=zh-CN]")
        page.wait_for_function(f"document.title === '作业 #{job} · Athanor'")
        page.set_viewport_size({"width": 390, "height": 844})
        page.click("[data-action=cancel]")
        dialog.wait_for(state="visible")
        assert f"取消作业 #{job}？" in dialog.inner_text()
        shots.take(page, "zh-cancel-dialog-phone")
        page.click("[data-confirm=yes]")
        page.wait_for_selector("h1 [data-status=cancelled]")
        assert page.locator("[data-action=cancel]").count() == 0

        page.goto(f"{platform.url}/no/such/page")
        page.wait_for_function("document.title === '页面不存在 · Athanor'")
        page.click("[data-locale=en]")
        page.wait_for_function("document.title === 'Page not found · Athanor'")
        assert errors == []
