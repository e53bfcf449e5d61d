"""The console imports an uploaded CSV as a table: it lists the columns, the user picks the
target, and the same upload is imported (in English, then in Chinese with an Excel file)."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.console_browser import (
    Shots,
    choose_upload,
    chromium,
    require_browser,
    signed_in_page,
)
from tests.server.conftest import PlatformProcess

PAGE_TIMEOUT_MS = 30_000


def _boston(mirror: Path, folder: Path) -> Path:
    source = mirror / "boston-housing" / "BostonHousing.csv"
    lines = source.read_text().splitlines()
    path = folder / "houses.csv"
    path.write_text("\n".join(lines[:120]) + "\n")
    return path


def test_an_uploaded_csv_or_excel_file_imports_as_a_table_after_picking_its_target(
    platform_factory, mirror: Path, tmp_path: Path
) -> None:
    import pandas as pd

    require_browser()
    csv_file = _boston(mirror, tmp_path)
    workbook = tmp_path / "homes.xlsx"
    pd.read_csv(csv_file).to_excel(workbook, index=False)
    # No job runs here, so no worker is kept warm for one.
    platform: PlatformProcess = platform_factory(
        "--cpus", "1", "--gpus", "none", "--warm-workers", "0"
    )
    platform.start()
    shots = Shots("tables")
    with chromium(tmp_path / "profile") as context:
        page, errors = signed_in_page(context, platform, PAGE_TIMEOUT_MS)
        page.wait_for_selector("[data-stat=storage] .value:not(:text('–'))")

        # A CSV without a target: the console lists its columns instead of failing.
        choose_upload(page, "files", csv_file)  # named after the file: houses
        page.wait_for_selector("[data-hint=table]")
        page.click("[data-action=start-import]")
        page.wait_for_selector("[data-columns=table] [data-column=medv]")
        listed = page.locator("[data-columns=table] tbody tr")
        assert listed.count() == 14
        assert "categorical" not in page.inner_text("[data-column=crim]")
        assert "numeric" in page.inner_text("[data-column=crim]")
        assert page.is_disabled("[data-action=start-import]")  # no target chosen yet
        shots.take(page, "en-columns")
        page.click("[data-column=medv]")
        assert page.input_value("#dataset-target") == "medv"
        page.click("[data-action=start-import]")
        page.wait_for_url("**/datasets/houses%40*")
        page.wait_for_selector("text=medv")
        version = platform.store().datasets.get("houses")
        assert version.rows == 119 and version.info["target"] == "medv"
        assert version.task == "regression"
        shots.take(page, "en-dataset")

        # In Chinese, an Excel workbook with the target named at once.
        page.click("[data-locale=zh-CN]")
        choose_upload(page, "files", workbook)
        page.click("[data-action=start-import]")
        page.wait_for_selector("[data-columns=table] [data-column=chas]")
        assert "数值" in page.inner_text("[data-column=crim]")
        assert "模型要预测哪一列" in page.inner_text("[data-columns=table]")
        shots.take(page, "zh-columns")
        page.select_option("[data-input=target]", "medv")
        page.click("[data-action=start-import]")
        page.wait_for_url("**/datasets/homes%40*")
        shots.take(page, "zh-dataset")
        assert platform.store().datasets.get("homes").rows == 119
        assert not errors, errors
