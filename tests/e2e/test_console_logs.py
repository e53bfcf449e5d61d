"""The console with a log anomaly detector, in a real browser on a real platform: the model
page states its top-g rule; the deployment page reads an uploaded raw HDFS log, lists the
flagged sessions and shows a selected one's lines with the surprising ones marked; pasted
lines of a normal session flag none. English and Chinese, at desktop and phone width, with
screenshots."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.console_browser import Shots, chromium, require_browser, signed_in_page
from tests.server.conftest import PlatformProcess

PAGE_TIMEOUT_MS = 60_000
# A block whose log goes on after it was deleted, with a line of a kind never seen in training.
FIRE = "081109 204005 35 INFO dfs.FSNamesystem: Disk array of blk_38865049064139660 caught fire"
BLOCK = "blk_38865049064139660"


@pytest.fixture(scope="module")
def log_platform(trained_log_model, tmp_path_factory) -> Iterator[tuple[PlatformProcess, Path]]:
    """A platform on a copy of the tiny log model's home, the model deployed as ``logs``;
    yields the platform and the raw HDFS log the model was trained on."""
    require_browser()
    _, settings, log = trained_log_model
    home = tmp_path_factory.mktemp("logs-console") / "home"
    shutil.copytree(settings.home, home)
    platform = PlatformProcess(home, "--cpus", "1", "--gpus", "none", "--warm-workers", "0")
    try:
        platform.start()
        client = platform.client(platform.owner_token)
        client.call("create_deployment", body={"name": "logs", "model": "hdfs-logs"})
        yield platform, log
    finally:
        platform.kill()


def _predict(response) -> bool:
    return "/v1/deployments/logs/predict" in response.url


def test_a_log_upload_lists_flagged_sessions_and_marks_their_lines(
    log_platform, tmp_path: Path
) -> None:
    platform, log = log_platform
    url = platform.url
    lines = log.read_text().splitlines(keepends=True)
    app = tmp_path / "app.log"
    app.write_text("".join(lines[:30]) + FIRE + "\n")
    shots = Shots("logs")
    with chromium(tmp_path / "profile") as context:
        page, errors = signed_in_page(context, platform, PAGE_TIMEOUT_MS)
        page.goto(f"{url}/models/hdfs-logs")
        rule = page.inner_text("[data-section=lineage] [data-rule]")
        assert "outside the top" in rule and "last 3 keys" in rule
        shots.take(page, "en-model")

        page.goto(f"{url}/deployments/logs")
        page.wait_for_selector("[data-section=logs] [data-state=empty]")  # nothing sent yet
        with page.expect_response(_predict) as answered:
            page.set_input_files("[data-input=log]", str(app))
        assert answered.value.status == 200
        answer = answered.value.json()
        page.wait_for_selector("[data-table=sessions] tbody tr")
        summary = page.inner_text("[data-summary]")
        assert f"of {answer['sessions']} sessions flagged (31 lines read)" in summary
        assert f"top {answer['top_g']} after the last 3 keys" in summary
        flagged = [s["session"] for s in answer["flagged"]]
        assert BLOCK in flagged
        rows = page.locator("[data-table=sessions] tbody tr")
        assert rows.count() == len(flagged)
        row = page.locator(f"[data-session={BLOCK}]")
        assert row.locator("td").nth(1).inner_text() == "2"  # its lines
        row.locator("button").click()
        page.wait_for_selector(f"[data-section=session] h3:has-text('{BLOCK}')")
        shown = page.locator("[data-section=session] [data-line]")
        assert shown.count() == 2  # the session's first line, then the new one
        assert "PacketResponder 1 for block" in shown.nth(0).inner_text()
        marked = page.locator("[data-section=session] [data-surprising]")
        assert marked.count() >= 1
        fire = marked.last.inner_text()
        assert "caught fire" in fire and "never seen" in fire
        assert "no template of the training logs fits" in fire
        shots.take(page, "en-deployment")

        page.set_viewport_size({"width": 390, "height": 844})  # a phone
        page.wait_for_timeout(200)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 400, f"the page is {width} px wide on a phone"
        shots.take(page, "en-deployment-phone")
        page.set_viewport_size({"width": 1366, "height": 900})

        # Pasted lines of a normal session alone: nothing flagged with a generous g.
        normal = [line for line in lines if BLOCK in line]
        page.click("[data-mode=paste]")
        page.fill("[data-input=top-g]", "50")
        page.fill("[data-input=log-text]", "".join(normal))
        with page.expect_response(_predict) as answered:
            page.click("[data-action=send-log]")
        assert answered.value.url.endswith("/predict?top_g=50")
        assert answered.value.status == 200 and answered.value.json()["anomalous"] == 0
        page.wait_for_selector("[data-state=none]")
        assert "top 50" in page.inner_text("[data-rule]")

        # Lines that do not fit the log format: the failed state and the server's message.
        page.fill("[data-input=log-text]", "no header here\n")
        page.click("[data-action=send-log]")
        page.wait_for_selector("[data-state=failed]")
        assert "does not fit the log format" in page.inner_text("[data-section=logs]")

        page.click("[data-locale=zh-CN]")
        page.goto(f"{url}/deployments/logs")
        page.set_input_files("[data-input=log]", str(app))
        page.locator(f"[data-session={BLOCK}] button").click()
        page.wait_for_selector("[data-section=session] [data-surprising]")
        assert "个会话中有" in page.inner_text("[data-summary]")
        assert "从未见过" in page.inner_text("[data-section=session]")
        assert "不符合训练日志的任何模板" in page.inner_text("[data-section=session]")
        shots.take(page, "zh-deployment")
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(200)
        shots.take(page, "zh-deployment-phone")
        page.goto(f"{url}/models/hdfs-logs")
        assert "异常规则" in page.inner_text("[data-section=lineage]")
        assert errors == []
    for path in shots.taken:
        assert path.stat().st_size > 10_000, path
