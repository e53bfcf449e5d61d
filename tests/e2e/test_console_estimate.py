"""The estimate on the console's new-job page, in a real browser, in English and Chinese:
time, memory fit and cost here (measured) and on the catalog's GPUs; then the submitted job's
page shows the device-hours and cost it recorded."""

from __future__ import annotations

import time
from pathlib import Path

from tests.e2e.console_browser import Shots, chromium, require_browser, signed_in_page
from tests.server.conftest import PlatformProcess

PAGE_TIMEOUT_MS = 60_000


def test_the_new_job_page_shows_the_estimate_before_submitting(
    platform_factory, tmp_path: Path
) -> None:
    require_browser()
    platform: PlatformProcess = platform_factory("--cpus", "1", "--gpus", "none")
    url = platform.start()
    shots = Shots("estimate")
    with chromium(tmp_path / "profile") as context:
        page, errors = signed_in_page(context, platform, PAGE_TIMEOUT_MS)
        page.goto(f"{url}/jobs/new?template=xor-mlp")
        page.wait_for_selector("[data-template=xor-mlp].on")
        assert "Estimate the run's time" in page.inner_text("[data-section=estimate]")
        page.click("[data-action=estimate]")
        rows = page.locator("[data-estimate=devices] tbody tr")
        rows.first.wait_for()
        assert rows.count() == 11  # this machine and ten catalog GPUs
        here = page.locator("[data-device=cpu]").inner_text()
        assert "(measured)" in here and "yes" in here
        assert "<¥0.01" in page.locator("[data-device=rtx-3090]").inner_text()
        assert "Time here" in page.inner_text("[data-estimate=here]")
        time.sleep(0.2)
        shots.take(page, "en-new-job-estimate")

        page.click("[data-locale=zh-CN]")
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        section = page.inner_text("[data-section=estimate]")
        assert "预估：时间、内存与费用" in section and "本机用时" in section
        time.sleep(0.2)
        shots.take(page, "zh-new-job-estimate")

        page.click("[data-action=submit]")
        page.wait_for_url("**/jobs/*")
        page.wait_for_selector("[data-device-cost]")
        assert "设备小时" in page.inner_text("[data-device-cost]")
        time.sleep(0.2)
        shots.take(page, "zh-job-device-cost")

        # early stopping keeps a copy of the best weights: its own part of the memory
        page.goto(f"{url}/jobs/new?template=mlp-california")
        page.wait_for_selector("[data-template=mlp-california].on")
        page.click("[data-action=estimate]")
        page.locator("[data-device=cpu]").wait_for()
        assert "+ 最佳轮次权重 " in page.inner_text("[data-estimate=here]")
        time.sleep(0.2)
        shots.take(page, "zh-new-job-estimate-best-weights")
        page.click("[data-locale=en]")
        assert "+ best epoch's weights " in page.inner_text("[data-estimate=here]")
    assert errors == []
