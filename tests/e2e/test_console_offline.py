"""Loading never looks like absence, in a real browser: a page whose requests are held shows
loading, not "nothing yet"; one answered 500 shows the failure with Retry, which loads it; an
offline browser or an unreachable platform gets a banner that goes when the platform answers
again, and the page loads again by itself; in English at 1440x900 and in Chinese at 390x844."""

from __future__ import annotations

import re
from pathlib import Path

from tests.e2e.console_browser import Shots, chromium, require_browser, signed_in_page
from tests.server.conftest import PlatformProcess

PAGE_TIMEOUT_MS = 20_000
DATASET_LISTS = re.compile(r"/v1/datasets(/catalog)?$")
MODEL_LIST = re.compile(r"/v1/models$")
API = re.compile(r"/v1/")


def test_loading_failed_and_offline_states(platform_factory, tmp_path: Path) -> None:
    require_browser()
    platform: PlatformProcess = platform_factory(
        "--cpus", "1", "--gpus", "none", "--warm-workers", "0"
    )
    url = platform.start()
    shots = Shots("offline")
    with chromium(tmp_path / "profile") as context:
        page, errors = signed_in_page(context, platform, PAGE_TIMEOUT_MS)
        page.wait_for_selector("[data-me]")
        held: list = []  # requests held back, to be let through later
        for language, size in (("en", (1440, 900)), ("zh", (390, 844))):
            page.set_viewport_size({"width": size[0], "height": size[1]})
            if language == "zh":
                page.click("[data-locale=zh-CN]")
            words = WORDS[language]

            # Held requests: loading, never "nothing imported yet".
            held.clear()
            page.route(DATASET_LISTS, lambda route: held.append(route))
            page.goto(f"{url}/datasets")
            page.wait_for_selector("[data-state=loading]")
            page.wait_for_timeout(300)
            assert words["none"] not in page.inner_text("main")
            assert words["loading"] in page.inner_text("[data-state=loading]")
            shots.take(page, f"{language}-loading")
            for route in held:
                route.continue_()
            page.unroute(DATASET_LISTS)
            page.wait_for_selector("[data-state=empty]")
            assert words["none"] in page.inner_text("[data-state=empty]")

            # A 500: the failure with Retry, which loads the page once the API answers.
            page.route(
                MODEL_LIST, lambda route: route.fulfill(status=500, json={"detail": "disk full"})
            )
            page.goto(f"{url}/models")
            failed = page.locator("[data-state=failed]")
            failed.wait_for()
            assert "disk full" in failed.inner_text() and words["models"] not in page.inner_text(
                "main"
            )
            shots.take(page, f"{language}-failed")
            page.unroute(MODEL_LIST)
            failed.locator("[data-action=retry]").click()
            page.wait_for_selector("[data-state=empty]")
            assert words["models"] in page.inner_text("main")

            # Offline: a banner; back online it goes and the page loads again.
            page.goto(f"{url}/jobs")
            page.wait_for_selector("[data-state=empty]")
            context.set_offline(True)
            banner = page.locator("[data-offline-banner]")
            banner.wait_for()
            assert words["offline"] in banner.inner_text()
            shots.take(page, f"{language}-offline")
            context.set_offline(False)
            banner.wait_for(state="hidden", timeout=10_000)
            page.wait_for_selector("[data-state=empty]")

            # The platform unreachable (the browser online): a banner until it answers again.
            page.route(API, lambda route: route.abort())
            page.goto(f"{url}/deployments")
            page.wait_for_selector("[data-offline-banner=unreachable]")
            assert words["unreachable"] in banner.inner_text()
            failed.wait_for()
            assert words["deployments"] not in page.inner_text("main")
            shots.take(page, f"{language}-unreachable")
            page.unroute(API)
            banner.wait_for(state="hidden", timeout=10_000)
            page.wait_for_selector("[data-state=empty]")
            assert words["deployments"] in page.inner_text("main")
        assert errors == []


WORDS = {
    "en": {
        "loading": "Loading…",
        "none": "Nothing imported yet",
        "models": "No model registered yet",
        "offline": "You are offline",
        "unreachable": "The platform cannot be reached",
        "deployments": "Nothing is deployed",
    },
    "zh": {
        "loading": "加载中…",
        "none": "尚未导入数据",
        "models": "尚未注册模型",
        "offline": "网络已断开",
        "unreachable": "无法连接到平台",
        "deployments": "还没有部署任何模型",
    },
}
