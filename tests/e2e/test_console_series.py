"""The console's deployment page for series models, in a real browser on a real platform:
upload a NAB series CSV to a deployed anomaly detector and see the series, its scores and
flagged spans; upload sunspots to a forecaster and see the forecast. English and Chinese,
with screenshots."""

from __future__ import annotations

import time

from athanor.registry import register_package
from athanor.store import open_store
from tests.conftest import write_sunspots_csv
from tests.e2e.console_browser import Shots, chromium, require_browser, signed_in_page
from tests.server.conftest import PlatformProcess

PAGE_TIMEOUT_MS = 60_000


def test_the_anomaly_chart_and_the_forecast_on_the_deployment_page(
    platform_factory, trained_nab_detector, trained_sunspots_forecaster, nab_mirror, tmp_path
) -> None:
    require_browser()
    # No job runs here, so no worker is kept warm for one.
    platform: PlatformProcess = platform_factory(
        "--cpus", "1", "--gpus", "none", "--warm-workers", "0"
    )
    store = open_store(platform.settings)
    register_package(store, "keys-ae", trained_nab_detector[0].package_dir)
    register_package(store, "spots", trained_sunspots_forecaster[0].package_dir)
    url = platform.start()
    client = platform.client(platform.owner_token)
    client.call("create_deployment", body={"name": "keys", "model": "keys-ae"})
    client.call("create_deployment", body={"name": "spots", "model": "spots"})
    series = nab_mirror / "realKnownCause" / "rogue_agent_key_hold.csv"
    sunspots = write_sunspots_csv(tmp_path / "sunspots.csv")
    shots = Shots("series")
    with chromium(tmp_path / "profile") as context:
        page, errors = signed_in_page(context, platform, PAGE_TIMEOUT_MS)
        page.goto(f"{url}/deployments/keys")
        page.set_input_files("[data-input=series]", str(series))
        page.wait_for_selector("[data-chart=series] canvas")
        summary = page.inner_text("[data-summary]")
        assert "timestamps flagged in" in summary and "1,882" in summary
        assert "99th percentile of the val split" in summary
        assert page.locator("[data-table=intervals] tbody tr").count() >= 1
        time.sleep(0.5)  # the chart draws on the next frame
        shots.take(page, "en-anomaly")

        page.goto(f"{url}/deployments/spots")
        page.set_input_files("[data-input=series]", str(sunspots))
        page.wait_for_selector("[data-table=forecast] tbody tr")
        assert "Forecast of the next 3 step(s)" in page.inner_text("[data-summary]")
        assert page.locator("[data-table=forecast] tbody tr").count() == 3
        time.sleep(0.5)
        shots.take(page, "en-forecast")

        page.click("[data-locale=zh-CN]")
        page.goto(f"{url}/deployments/keys")
        page.set_input_files("[data-input=series]", str(series))
        page.wait_for_selector("[data-chart=series] canvas")
        assert "个时间点中有" in page.inner_text("[data-summary]")
        assert "峰值分数" in page.inner_text("[data-table=intervals]")
        time.sleep(0.5)
        shots.take(page, "zh-anomaly")
        page.goto(f"{url}/deployments/spots")
        page.set_input_files("[data-input=series]", str(sunspots))
        page.wait_for_selector("[data-table=forecast] tbody tr")
        assert "未来 3 步的预测" in page.inner_text("[data-summary]")
        time.sleep(0.5)
        shots.take(page, "zh-forecast")
        assert errors == []
    for path in shots.taken:
        assert path.stat().st_size > 10_000, path
