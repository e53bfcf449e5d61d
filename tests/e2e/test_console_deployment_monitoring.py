"""A deployment's monitoring in a real browser: the history charts over an hour and a day,
and the drift panel naming the feature whose served inputs were shifted (worst first, with
its state), in English at 1440x900 and in Chinese at 390x844 without sideways scrolling."""

from __future__ import annotations

from pathlib import Path

import httpx

import athanor as at
from tests.e2e.console_browser import Shots, chromium, require_browser, signed_in_page
from tests.server.conftest import PlatformProcess
from tests.server.test_deployment_monitor import IRIS, SHIFTED, rows_like_training

PAGE_TIMEOUT_MS = 30_000


def test_history_and_drift_panels_in_both_languages(platform_factory, tmp_path: Path) -> None:
    require_browser()
    platform: PlatformProcess = platform_factory(
        "--cpus", "1", "--gpus", "none", "--warm-workers", "0"
    )
    platform.home.mkdir(parents=True, exist_ok=True)
    at.train(IRIS, register_as="iris-watch", progress=False, settings=platform.settings)
    rows = rows_like_training(platform, 100)
    url = platform.start()
    owner = {"Authorization": f"Bearer {platform.owner_token}"}
    with httpx.Client(base_url=url, timeout=30, headers=owner) as api:
        created = api.post("/v1/deployments", json={"name": "watched", "model": "iris-watch"})
        assert created.status_code == 201, created.text
        for start in range(0, len(rows), 50):
            body = {"inputs": rows[start : start + 50]}
            assert api.post("/v1/deployments/watched/predict", json=body).status_code == 200
    shots = Shots("deployment-monitoring")
    with chromium(tmp_path / "profile") as context:
        page, errors = signed_in_page(context, platform, PAGE_TIMEOUT_MS)
        page.set_viewport_size({"width": 1440, "height": 900})
        page.goto(f"{url}/deployments/watched")
        page.wait_for_selector("[data-section=traffic] [data-chart=latency] canvas")
        drift = page.locator("[data-section=drift]")
        drift.locator(f'[data-feature="{SHIFTED}"][data-drift=drifted]').wait_for()
        bars = drift.locator(".bar-row")
        assert bars.count() == 4
        assert bars.first.get_attribute("data-feature") == SHIFTED  # the worst first
        assert drift.locator("[data-drift=stable]").count() == 3
        said = drift.inner_text()
        assert "Input drift" in said and "100 samples" in said and "drifted" in said
        assert drift.locator("[data-drift-strip] .cell.drifted").count() >= 1

        page.click("[data-range=day]")
        traffic = page.locator("[data-section=traffic]")
        traffic.get_by_text("Traffic, last day").wait_for()
        page.wait_for_selector("[data-section=traffic] [data-chart=requests] canvas")
        assert "5 min per point" in traffic.locator("[data-history-kept]").inner_text()
        assert traffic.locator("[data-traffic-totals]").inner_text().startswith("2 requests")
        shots.take(page, "en-monitoring-desktop")

        page.click("[data-locale=zh-CN]")
        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        drift.locator(f'[data-feature="{SHIFTED}"][data-drift=drifted]').wait_for()
        said = drift.inner_text()
        assert "输入漂移" in said and "已漂移" in said and SHIFTED in said
        assert "最近一小时的流量" in traffic.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shots.take(page, "zh-monitoring-phone")
        assert not errors, errors
