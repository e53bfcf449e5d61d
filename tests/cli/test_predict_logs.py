"""``athanor data import`` of a bad log and ``athanor predict MODEL app.log``, in real
subprocesses."""

from __future__ import annotations

import csv
from pathlib import Path

from athanor.data.log_lines import HDFS_FORMAT
from athanor.registry import register_package
from athanor.store import open_store
from tests.cli.test_main import athanor

FIRE = "081109 204005 35 INFO dfs.FSNamesystem: Disk array of blk_38865049064139660 caught fire"


def test_a_bad_log_line_is_named_and_a_log_is_flagged_into_a_csv(
    trained_log_model, tmp_path: Path
) -> None:
    run, _, log = trained_log_model
    bad = tmp_path / "bad.log"
    bad.write_text(log.read_text().splitlines()[0] + "\nno header\n")
    failed = athanor(
        "data", "import", str(bad), "--name", "bad", "--log-format", HDFS_FORMAT, check=False
    )
    assert failed.returncode == 2
    assert f"{bad}:2: does not fit the log format" in failed.stderr + failed.stdout

    register_package(open_store(), "hdfs-logs", run.package_dir)
    shown = athanor("models", "show", "hdfs-logs").stdout
    assert "anomaly rule: a key outside the top" in shown and "after the last 3 keys" in shown
    app = tmp_path / "app.log"
    app.write_text("".join(log.read_text().splitlines(keepends=True)[:20]) + FIRE + "\n")
    output = tmp_path / "verdicts.csv"
    printed = athanor("predict", "hdfs-logs", str(app), "-o", str(output)).stdout
    assert "of 20 session(s) anomalous" in printed and "1 line(s) fit no template" in printed
    assert "blk_38865049064139660" in printed and "line 21 [never seen]" in printed
    assert "<no template of the training logs fits>" in printed and "caught fire" in printed
    assert f"every session's verdict: {output}" in printed
    with output.open(newline="") as handle:
        rows = {row["session"]: row for row in csv.DictReader(handle)}
    assert len(rows) == 20
    fire = rows["blk_38865049064139660"]
    assert fire["anomalous"] == "1" and "21" in fire["unexpected_lines"].split()
