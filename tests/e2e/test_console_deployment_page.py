"""A deployment's page in a real browser: the traffic charts say "no requests yet", then draw
the predictions made on the page and through the API (and survive a reload); the test form
starts with a typical row that predicts; the curl and Python snippets copy with a confirmation
and, run as they are, predict; in English at 1440x900 and in Chinese at 390x844. The run's page
says loading, not "no metrics", while its requests are held."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

import athanor as at
from tests.e2e.console_browser import Shots, chromium, require_browser, signed_in_page
from tests.server.conftest import PlatformProcess

PAGE_TIMEOUT_MS = 30_000
RUN_REQUESTS = re.compile(r"/v1/runs/\d+(/series.*)?$")
IRIS = {
    "name": "iris-page",
    "seed": 0,
    "data": {"dataset": "iris", "split": {"val": 0.2}},
    "model": {"template": "mlp", "hidden": [8]},
    "train": {"epochs": 1, "batch_size": 16},
}


def test_traffic_charts_snippets_and_the_example_row(platform_factory, tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import expect

    platform: PlatformProcess = platform_factory(
        "--cpus", "1", "--gpus", "none", "--warm-workers", "0"
    )
    platform.home.mkdir(parents=True, exist_ok=True)
    run = at.train(IRIS, register_as="iris-page", progress=False, settings=platform.settings)
    url = platform.start()
    token = platform.owner_token
    owner = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, timeout=30, headers=owner) as api:
        created = api.post("/v1/deployments", json={"name": "iris-page", "model": "iris-page@1"})
        assert created.status_code == 201, created.text
        example = created.json()["serving"][0]["example"]
    shots = Shots("deployment-page")
    with chromium(tmp_path / "profile") as context:
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
        page, errors = signed_in_page(context, platform, PAGE_TIMEOUT_MS)
        page.set_viewport_size({"width": 1440, "height": 900})
        page.goto(f"{url}/deployments/iris-page")
        traffic = page.locator("[data-section=traffic]")
        traffic.locator("[data-state=empty]").wait_for()
        assert "No requests yet in the last hour" in traffic.inner_text()

        # The form starts with the example row; predicting it draws the first request.
        inputs = page.locator("form.cols input")
        assert inputs.count() == len(example) == 4
        shown = [float(inputs.nth(index).input_value()) for index in range(4)]
        assert shown == list(example.values())
        page.click("form.cols button[type=submit]")
        page.wait_for_selector("[data-predicted]")
        page.wait_for_selector("[data-chart=requests] canvas")
        assert page.inner_text("[data-traffic-totals]").startswith("1 requests · 0 errors")

        # Requests through the API count too, errors apart; the charts survive a reload.
        with httpx.Client(base_url=url, timeout=30, headers=owner) as api:
            for body in ({"inputs": [example]}, {"inputs": [example]}, {"inputs": []}):
                api.post("/v1/deployments/iris-page/predict", json=body)
        page.reload()
        page.wait_for_selector("[data-chart=latency] canvas")
        assert page.inner_text("[data-traffic-totals]").startswith("4 requests · 1 errors")
        for chart in ("requests", "latency", "errors"):
            assert page.locator(f"[data-chart={chart}] canvas").count() >= 1

        # Each snippet copies with a confirmation, and predicts when run as it is.
        snippets = page.locator("[data-section=snippets]")
        copy = snippets.locator("[data-action=copy-snippet]")
        copy.click()
        expect(copy).to_have_text("✓ Copied")
        curl = page.evaluate("navigator.clipboard.readText()")
        assert curl == snippets.locator("[data-snippet=curl]").inner_text()
        assert f"{url}/v1/deployments/iris-page/predict" in curl and "$ATHANOR_TOKEN" in curl
        snippets.locator("[data-snippet-tab=python]").click()
        expect(copy).to_have_text("Copy")
        copy.click()
        expect(copy).to_have_text("✓ Copied")
        python = page.evaluate("navigator.clipboard.readText()")
        assert "httpx.post(" in python and "os.environ['ATHANOR_TOKEN']" in python
        shots.take(page, "en-deployment-desktop")
        env = {**os.environ, "ATHANOR_TOKEN": token}
        ran = subprocess.run(
            [sys.executable, "-c", python], env=env, capture_output=True, text=True, timeout=60
        )
        assert ran.returncode == 0, ran.stderr
        assert "'model': 'iris-page@1'" in ran.stdout and "'label'" in ran.stdout
        if shutil.which("curl"):
            answered = subprocess.run(
                ["bash", "-c", curl.replace("curl ", "curl -s ", 1)],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert json.loads(answered.stdout)["model"] == "iris-page@1", answered.stderr

        page.click("[data-locale=zh-CN]")
        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        page.wait_for_selector("[data-chart=errors] canvas")
        said = traffic.inner_text()
        assert "最近一小时的流量" in said and "个请求" in said
        assert "在代码中调用" in page.inner_text("[data-section=snippets]")
        box = traffic.bounding_box()
        assert box is not None and box["width"] <= 390
        shots.take(page, "zh-deployment-phone")

        # The run behind the model: while its requests are held, its charts say loading,
        # not "no metrics logged yet"; let through, they draw its curves.
        held: list = []
        page.route(RUN_REQUESTS, lambda route: held.append(route))
        page.goto(f"{url}/jobs/{run.id}")
        page.wait_for_selector("[data-chart=loss] [data-state=loading]")
        assert "尚无指标记录" not in page.inner_text("main")
        shots.take(page, "zh-job-loading-phone")
        for route in held:
            route.continue_()
        page.unroute(RUN_REQUESTS)
        page.wait_for_selector("[data-chart=loss] canvas")
        assert errors == []
