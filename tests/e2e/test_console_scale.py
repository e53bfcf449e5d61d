"""The console at scale: a store of 1,000 runs and a run of 100,000 metric points.

The store is a real SQLite file seeded through the store's own API; the platform serves it
for real. Its API pages the runs and thins the series (keeping the peaks); in Chromium, the
runs list and the job page with the 100,000-point chart each render within a bound. The
figures measured are written to ``out/console/scale/figures.json``.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from athanor.store.runs import MetricPoint, RunStatus
from tests.e2e.console_browser import (
    SCREENSHOTS,
    Shots,
    chromium,
    require_browser,
    signed_in_page,
)
from tests.server.conftest import PlatformProcess

RUNS = 1_000
STEPS = 99_800  # batch_loss points; with 100 of val_loss and 100 of val_accuracy: 100,000
EPOCHS = 100
SPIKE, DIP = 61_234, 12_345  # steps where the loss jumps and dips: thinning must keep them
RENDER_BOUND_S = 3.0
POINTS_BOUND = 2_000


def seed(platform: PlatformProcess) -> int:
    """1,000 finished runs, then one long run with 100,000 points; returns its id."""
    store = platform.store()
    outcomes = [RunStatus.SUCCEEDED, RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED]
    for index in range(RUNS):
        record = store.runs.create(
            {"name": f"sweep-{index:04d}", "train": {"optimizer": {"lr": 0.001 * (1 + index % 7)}}},
            name=f"sweep-{index:04d}",
            dataset="mnist",
            status=RunStatus.QUEUED,
        )
        status = outcomes[index % len(outcomes)]
        summary = {"metrics": {"test_accuracy": 0.9 + (index % 90) / 1000}}
        store.runs.finish(record.id, status, f"seeded run {index}", summary)

    long_run = store.runs.create(
        {"name": "long-run"}, name="long-run", dataset="mnist", status=RunStatus.QUEUED
    )
    rng = np.random.default_rng(7)
    loss = 2.0 / (1.0 + np.arange(STEPS) / 2_000.0) + rng.normal(0.0, 0.02, STEPS)
    loss[SPIKE], loss[DIP] = 8.0, -1.0
    per_epoch = STEPS // EPOCHS
    points = [
        MetricPoint("batch_loss", step, step // per_epoch, float(value), 0.0)
        for step, value in enumerate(loss)
    ]
    for epoch in range(EPOCHS):
        end = (epoch + 1) * per_epoch - 1
        points.append(MetricPoint("val_loss", end, epoch, float(loss[end]) + 0.05, 0.0))
        points.append(MetricPoint("val_accuracy", end, epoch, 0.5 + epoch / 250, 0.0))
    store.runs.log_metrics(long_run.id, points)
    store.runs.finish(long_run.id, RunStatus.SUCCEEDED, "seeded long run", {})
    return long_run.id


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PlatformProcess, int]]:
    home = tmp_path_factory.mktemp("scale") / "home"
    home.mkdir(parents=True)
    platform = PlatformProcess(home, "--cpus", "1", "--gpus", "none", "--warm-workers", "0")
    started = time.perf_counter()
    long_run = seed(platform)
    figures["seed_s"] = round(time.perf_counter() - started, 2)
    platform.start()
    try:
        yield platform, long_run
    finally:
        platform.kill()
        folder = SCREENSHOTS / "scale"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "figures.json").write_text(json.dumps(figures, indent=2) + "\n")


figures: dict[str, float] = {}


def fetch(platform, url: str) -> tuple[object, float]:
    """The decoded JSON answer of a GET with the owner's token, and the seconds it took."""
    started = time.perf_counter()
    request = urllib.request.Request(
        url, headers={"Authorization": f"Bearer {platform.owner_token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.loads(response.read())
    return answer, time.perf_counter() - started


def test_the_api_pages_runs_and_thins_a_100k_point_series_keeping_its_peaks(seeded) -> None:
    platform, long_run = seeded
    first, first_s = fetch(platform, f"{platform.url}/v1/runs/page?limit=25&offset=0")
    assert first["total"] == RUNS + 1 and len(first["items"]) == 25
    assert [run["id"] for run in first["items"]] == list(range(long_run, long_run - 25, -1))
    last, last_s = fetch(platform, f"{platform.url}/v1/runs/page?limit=25&offset={RUNS}")
    assert [run["id"] for run in last["items"]] == [1]
    failed, _ = fetch(platform, f"{platform.url}/v1/runs/page?limit=25&status=failed")
    assert failed["total"] == RUNS // 4

    series, series_s = fetch(
        platform, f"{platform.url}/v1/runs/{long_run}/series?points={POINTS_BOUND}"
    )
    loss = series["batch_loss"]
    assert loss["total"] == STEPS and loss["last_step"] == STEPS - 1
    assert 0 < len(loss["steps"]) <= POINTS_BOUND
    assert loss["steps"] == sorted(set(loss["steps"]))
    assert loss["steps"][0] == 0 and loss["steps"][-1] == STEPS - 1
    kept = dict(zip(loss["steps"], loss["values"], strict=True))
    assert kept[SPIKE] == pytest.approx(8.0) and kept[DIP] == pytest.approx(-1.0)
    assert max(loss["values"]) == pytest.approx(8.0) and min(loss["values"]) == pytest.approx(-1.0)
    # short series come whole; the whole run holds 100,000 points
    assert len(series["val_loss"]["steps"]) == EPOCHS == series["val_accuracy"]["total"]
    assert sum(s["total"] for s in series.values()) == 100_000

    charted, charted_s = fetch(platform, f"{platform.url}/v1/runs/{long_run}/series")
    assert len(charted["batch_loss"]["steps"]) <= 600  # the console's default
    tail, _ = fetch(platform, f"{platform.url}/v1/runs/{long_run}/series?after_step={STEPS - 11}")
    assert tail["batch_loss"]["steps"] == list(range(STEPS - 10, STEPS))

    figures.update(
        api_first_page_s=round(first_s, 3),
        api_last_page_s=round(last_s, 3),
        api_series_2000_s=round(series_s, 3),
        api_series_600_s=round(charted_s, 3),
        series_points_sent=len(loss["steps"]),
    )
    assert max(first_s, last_s, series_s, charted_s) < RENDER_BOUND_S


def test_the_runs_list_and_a_100k_point_chart_render_quickly_in_chromium(
    seeded, tmp_path: Path
) -> None:
    require_browser()
    platform, long_run = seeded
    shots = Shots("scale")
    with chromium(tmp_path / "profile") as context:
        # Signs in; the bundle is cached once, as for a user.
        page, errors = signed_in_page(context, platform)
        page.wait_for_selector("[data-stat=storage]")

        started = time.perf_counter()
        page.goto(f"{platform.url}/jobs")
        page.wait_for_selector(f"[data-run='{long_run}']")
        list_s = time.perf_counter() - started
        assert page.locator("[data-run]").count() == 25
        assert "1–25 of 1,001" in page.inner_text(".pager")
        shots.take(page, "jobs")

        started = time.perf_counter()
        page.click("[data-next-page]")
        page.wait_for_selector(f"[data-run='{long_run - 25}']")
        next_s = time.perf_counter() - started

        started = time.perf_counter()
        with page.expect_response(lambda r: f"/v1/runs/{long_run}/series" in r.url) as answer:
            page.goto(f"{platform.url}/jobs/{long_run}")
        page.wait_for_selector("[data-chart=loss] canvas")
        page.wait_for_function(
            "document.querySelector('[data-chart=loss] h2').innerText.includes('100')"
        )
        chart_s = time.perf_counter() - started
        sent = answer.value.json()
        assert sent["batch_loss"]["total"] == STEPS
        assert len(sent["batch_loss"]["steps"]) <= 600
        # the page answers at once after drawing: a click on another page is served quickly
        started = time.perf_counter()
        page.click("[data-nav='/models']")
        page.wait_for_url("**/models")
        page.wait_for_selector("h1")
        leave_s = time.perf_counter() - started
        page.go_back()
        page.wait_for_selector("[data-chart=loss] canvas")
        time.sleep(0.3)  # the chart draws on the next frame
        shots.take(page, "job-100k-points")
        assert errors == []

    figures.update(
        browser_jobs_list_s=round(list_s, 3),
        browser_next_page_s=round(next_s, 3),
        browser_job_100k_chart_s=round(chart_s, 3),
        browser_leave_chart_page_s=round(leave_s, 3),
    )
    assert list_s < RENDER_BOUND_S, figures
    assert next_s < RENDER_BOUND_S, figures
    assert chart_s < RENDER_BOUND_S, figures
    assert leave_s < RENDER_BOUND_S, figures
