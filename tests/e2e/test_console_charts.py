"""Metric charts that read the same everywhere: a metric keeps its colour on the job page and
the compare page, each kind of metric has its panel, the learning rate is one curve, the x-axis
counts steps, epochs or seconds, log scale and smoothing redraw the chart, and the compare
page marks each metric's best run and keeps every run's spec column on the page (at 1440x900
in English, at 390x844 in Chinese)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.console_browser import Shots, chromium, require_browser, signed_in_page
from tests.server.conftest import PlatformProcess

TABLE = "a,b,y\n" + "".join(f"{i % 3},{(i * 7) % 5},{(i // 3) % 2}\n" for i in range(40))
# A setting long enough to push a column off the page if values did not wrap.
LONG_NAME = ("a-run-whose-name-is-far-too-long-to-fit-in-any-column-" * 2)[:96]


def spec(name: str, hidden: list[int], lr: float) -> dict:
    """Three epochs on the table whose learning rate halves after every epoch."""
    return {
        "name": name,
        "data": {"dataset": "charts-table@1", "split": {"val": 0.25, "test": 0.25}},
        "model": {"template": "mlp", "hidden": hidden},
        "train": {
            "epochs": 3,
            "batch_size": 4,
            "optimizer": {"type": "adam", "lr": lr},
            "schedule": {"type": "step", "every": 1, "gamma": 0.5},
        },
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PlatformProcess, list[int]]]:
    """A platform with two finished runs on a small table that differ in network and rate."""
    require_browser()
    platform = PlatformProcess(
        tmp_path_factory.mktemp("charts") / "home",
        "--cpus",
        "2",
        "--gpus",
        "none",
        "--warm-workers",
        "0",
    )
    platform.start()
    owner = {"Authorization": f"Bearer {platform.owner_token}"}
    try:
        with httpx.Client(base_url=platform.url, timeout=60, headers=owner) as api:
            upload = api.post("/v1/uploads").json()["id"]
            api.put(f"/v1/uploads/{upload}/files/t.csv", content=TABLE.encode())
            body = {"upload": upload, "path": "t.csv", "name": "charts-table", "target": "y"}
            assert api.post("/v1/datasets", json=body).status_code == 201
            jobs = []
            for one in (spec("small", [4], 0.01), spec(LONG_NAME, [8] * 12, 0.05)):
                submitted = api.post("/v1/jobs", json={"spec": one})
                assert submitted.status_code == 201, submitted.text
                jobs.append(submitted.json()["id"])
            for job in jobs:
                for _ in range(240):
                    run = api.get(f"/v1/runs/{job}").json()
                    if run["status"] in ("succeeded", "failed", "cancelled"):
                        break
                    time.sleep(0.25)
                assert run["status"] == "succeeded", run["status_reason"]
        yield platform, jobs
    finally:
        platform.kill()
        platform.kill_workers()


def option(page, selector: str) -> dict:
    """The ECharts option of the chart drawn inside ``selector``."""
    page.wait_for_selector(f"{selector} [data-echarts] canvas")
    return page.evaluate(
        "(s) => window.athanorChartOption(document.querySelector(s + ' [data-echarts]'))",
        selector,
    )


def colours(chart: dict) -> dict[str, str]:
    return {series["name"]: series["color"] for series in chart["series"]}


def set_smoothing(page, weight: float) -> None:
    page.evaluate(
        """(w) => { const range = document.querySelector('[data-control=smoothing]')
                    range.value = String(w); range.dispatchEvent(new Event('input')) }""",
        weight,
    )


def test_charts_keep_colours_panels_toggles_and_compare_marks_the_best(
    world: tuple[PlatformProcess, list[int]], tmp_path: Path
) -> None:
    platform, (first, second) = world
    owner = {"Authorization": f"Bearer {platform.owner_token}"}
    with httpx.Client(base_url=platform.url, timeout=30, headers=owner) as api:
        stored = api.get(f"/v1/runs/{first}/series").json()
        runs = [api.get(f"/v1/runs/{job}").json() for job in (first, second)]
    # The trainer logs the rate twice: the epoch's starting rate at its last step ("lr"),
    # and the rate in force while it trains ("lr_step"). At the step where epoch 1 ends they
    # disagree (the schedule has already halved it): the chart shows the per-step truth only.
    end_of_first = stored["lr"]["steps"][0]
    at_end = [
        stored["lr_step"]["values"][i]
        for i, step in enumerate(stored["lr_step"]["steps"])
        if step == end_of_first
    ]
    assert stored["lr"]["values"][0] == pytest.approx(0.01)
    assert at_end == pytest.approx([0.005] * len(at_end)) and at_end

    shots = Shots("charts")
    with chromium(tmp_path / "profile") as context:
        page, errors = signed_in_page(context, platform)
        page.set_viewport_size({"width": 1440, "height": 900})
        page.wait_for_selector("[data-me]")
        page.goto(f"{platform.url}/jobs/{first}")
        page.wait_for_selector("[data-panel=loss] [data-echarts] canvas")
        panels = page.eval_on_selector_all("[data-panel]", "all => all.map(p => p.dataset.panel)")
        assert panels == ["loss", "score", "rate", "timing"], panels
        loss = option(page, "[data-panel=loss]")
        losses = {"train_loss", "val_loss", "test_loss"}  # and batch_loss, once a second passed
        assert losses <= set(colours(loss)) <= {*losses, "batch_loss"}
        assert len(set(colours(loss).values())) == len(colours(loss))  # one colour per metric
        rate = option(page, "[data-panel=rate]")
        assert [s["name"] for s in rate["series"]] == ["lr"]
        drawn = dict(rate["series"][0]["data"])
        assert drawn[end_of_first] == pytest.approx(0.005)
        score = option(page, "[data-panel=score]")
        assert set(colours(score)) == {"train_accuracy", "val_accuracy", "test_accuracy"}
        job_colours = {**colours(loss), **colours(score)}
        shots.take(page, "en-job")

        # Toggles: a log y-axis; smoothing draws the raw curve faint behind the smoothed one;
        # epochs and wall time on the x-axis.
        assert loss["yAxis"][0]["type"] == "value"
        page.check("[data-control=log]")
        page.wait_for_function(
            "window.athanorChartOption(document.querySelector('[data-panel=loss] [data-echarts]'))"
            ".yAxis[0].type === 'log'"
        )
        page.uncheck("[data-control=log]")
        set_smoothing(page, 0.8)
        page.wait_for_function(
            "window.athanorChartOption(document.querySelector('[data-panel=loss] [data-echarts]'))"
            f".series.length === {2 * len(colours(loss))}"
        )
        smooth = option(page, "[data-panel=loss]")
        raw, line = (s for s in smooth["series"] if s["name"] == "val_loss")
        assert raw["lineStyle"]["opacity"] == 0.25 and "opacity" not in line["lineStyle"]
        assert raw["data"] != line["data"] and raw["data"][0] == line["data"][0]
        shots.take(page, "en-job-smoothed")
        set_smoothing(page, 0)
        page.select_option("[data-control=x-axis]", "epoch")
        page.wait_for_function(
            "window.athanorChartOption(document.querySelector('[data-panel=loss] [data-echarts]'))"
            ".xAxis[0].name === 'epoch'"
        )
        by_epoch = option(page, "[data-panel=loss]")
        val = next(s for s in by_epoch["series"] if s["name"] == "val_loss")
        assert [x for x, _ in val["data"]] == [1, 2, 3]
        page.select_option("[data-control=x-axis]", "time")
        page.wait_for_function(
            "window.athanorChartOption(document.querySelector('[data-panel=loss] [data-echarts]'))"
            ".xAxis[0].name === 'wall time'"
        )
        by_time = option(page, "[data-panel=loss]")
        seconds = [x for s in by_time["series"] for x, _ in s["data"]]
        assert min(seconds) == 0 and max(seconds) < 120
        page.select_option("[data-control=x-axis]", "step")

        # Compare: the same colours, several metrics at once, the best of each marked.
        page.goto(f"{platform.url}/jobs/compare?runs={first},{second}")
        page.wait_for_selector("[data-chart=compare][data-panel=loss] [data-echarts] canvas")
        page.check("[data-pick=val_accuracy]")  # already chosen with val_loss: stays checked
        page.check("[data-pick=train_loss]")
        compared = option(page, "[data-chart=compare][data-panel=loss]")
        names = {s["name"] for s in compared["series"]}
        assert names == {
            f"#{job} {m}" for job in (first, second) for m in ("val_loss", "train_loss")
        }
        for series in compared["series"]:
            metric = series["name"].split(" ", 1)[1]
            assert series["color"] == job_colours[metric], series["name"]
            assert series["markPoint"]["data"][0]["type"] == "min"
        scores = option(page, "[data-chart=compare][data-panel=score]")
        assert {s["markPoint"]["data"][0]["type"] for s in scores["series"]} == {"max"}
        for metric, pick in (("test_loss", min), ("test_accuracy", max)):
            values = {run["id"]: run["summary"]["metrics"][metric] for run in runs}
            winners = {job for job, value in values.items() if value == pick(values.values())}
            marked = page.eval_on_selector_all(
                f"[data-metric={metric}] [data-best]", "all => all.map(c => Number(c.dataset.run))"
            )
            assert set(marked) == winners, (metric, values, marked)
        # Only the settings that differ, and every run's column on the page.
        diff = page.inner_text("[data-section=diff]")
        assert (
            "model.hidden" in diff and "train.optimizer.lr" in diff and "train.epochs" not in diff
        )
        card = page.locator("[data-section=diff]").bounding_box()
        assert card is not None
        for job in (first, second):
            column = page.locator(f"[data-section=diff] th[data-run='{job}']").bounding_box()
            assert column is not None and column["x"] + column["width"] <= card["x"] + card["width"]
        shots.take(page, "en-compare")

        # A phone, in Chinese: the same colours, the panels' names translated, nothing sideways.
        page.click("[data-locale=zh-CN]")
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(300)
        assert "损失" in page.inner_text("[data-chart=compare][data-panel=loss] h2")
        phone = option(page, "[data-chart=compare][data-panel=loss]")
        assert colours(phone) == colours(compared)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shots.take(page, "zh-compare-phone")
        page.goto(f"{platform.url}/jobs/{second}")
        page.wait_for_selector("[data-panel=score] [data-echarts] canvas")
        assert "学习率" in page.inner_text("[data-panel=rate] h2")
        assert colours(option(page, "[data-panel=score]")) == colours(score)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shots.take(page, "zh-job-phone")
        assert errors == []
