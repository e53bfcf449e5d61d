"""The evaluation views of the console in a real browser: a run's confusion matrix, per-class
scores and wrong digits on its job and model pages, ROC and precision-recall curves of a binary
classifier, a regression's scatter, residuals and deciles, and the empty state of a run without
an evaluation; in English and in Chinese, with screenshots."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import athanor as at
from tests.e2e.console_browser import Shots, chromium, require_browser, signed_in_page
from tests.evaluated_runs import evaluated_runs
from tests.server.conftest import PlatformProcess

PAGE_TIMEOUT_MS = 30_000


def test_the_evaluation_views_in_both_languages(platform_factory, tmp_path: Path) -> None:
    require_browser()
    runs = evaluated_runs()
    # A run from before evaluations were kept: trained, then its evaluation folder removed.
    older = at.train(
        {
            "name": "iris-old",
            "data": {"dataset": "iris"},
            "model": {"template": "mlp", "hidden": [4]},
            "train": {"epochs": 1},
        },
        progress=False,
        settings=runs.settings,
    )
    shutil.rmtree(older.package_dir.parent / "evaluation")
    # No job runs here, so no worker is kept warm for one.
    platform: PlatformProcess = platform_factory(
        "--cpus", "1", "--gpus", "none", "--warm-workers", "0", home=runs.home
    )
    url = platform.start()
    shots = Shots("evaluation")
    with chromium(tmp_path / "profile") as context:
        page, errors = signed_in_page(context, platform, PAGE_TIMEOUT_MS)

        def visit(path: str, ready: str, name: str) -> None:
            page.goto(f"{url}{path}")
            page.wait_for_selector(ready)
            time.sleep(0.2)
            shots.take(page, name)

        for language in ("en", "zh"):
            if language == "zh":
                page.click("[data-locale=zh-CN]")
                assert page.locator("html").get_attribute("lang") == "zh-CN"
            visit(f"/jobs/{runs.digits.id}", "[data-list=wrong] img", f"{language}-job-digits")
            section = page.locator("[data-section=evaluation]")
            assert section.locator("[data-figure=confusion-matrix] rect").count() == 100
            assert section.locator("[data-table=per-class] tbody tr").count() == 12
            wrong = section.locator("[data-list=wrong] figure")
            assert wrong.count() == len(
                at.runs.get_evaluation(runs.digits.id, settings=runs.settings)["wrong_examples"]
            )
            taken = "taken for" if language == "en" else "被误判为"
            assert taken in wrong.first.inner_text()
            title = "Confusion matrix" if language == "en" else "混淆矩阵"
            assert title in section.inner_text()

            visit(
                "/models/digits-mlp/1",
                "[data-section=evaluation] [data-figure=confusion-matrix]",
                f"{language}-model-digits",
            )

            visit(
                f"/jobs/{runs.binary.id}", "[data-figure=curves] polyline", f"{language}-job-binary"
            )
            assert page.locator("[data-figure=curves] svg").count() == 2
            assert "AUC" in page.inner_text("[data-figure=curves]")

            visit(
                f"/jobs/{runs.regression.id}",
                "[data-table=deciles] tbody tr",
                f"{language}-job-regression",
            )
            assert page.locator("[data-table=deciles] tbody tr").count() == 10
            assert page.locator("[data-figure=regression] circle").count() > 50

            visit(
                f"/jobs/{older.id}",
                "[data-section=evaluation] [data-state=empty]",
                f"{language}-job-without-evaluation",
            )
            empty = page.inner_text("[data-state=empty]")
            assert ("has no evaluation" if language == "en" else "没有评估") in empty
        assert errors == []
