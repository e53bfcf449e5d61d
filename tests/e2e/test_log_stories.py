"""The log anomaly story as a new user lives it, with the real CLI in subprocesses and real
HDFS logs from the mirror: import raw lines (templates mined) and DeepLog's parsed sessions,
train briefly on each, and flag the anomalous sessions of a raw log file."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from athanor.data.log_lines import HDFS_FORMAT
from tests.cli.test_main import athanor
from tests.conftest import MIRROR

FIRE = "081109 204005 35 INFO dfs.FSNamesystem: Disk array of blk_38865049064139660 caught fire"


def test_from_raw_hdfs_logs_and_deeplog_sessions_to_flagged_sessions(tmp_path: Path) -> None:
    if MIRROR is None or not (MIRROR / "hdfs-logs" / "deeplog" / "hdfs_train").is_file():
        pytest.skip("HDFS logs are not in ATHANOR_DATA_MIRROR (nor in ../shared/data)")
    raw = MIRROR / "hdfs-logs" / "loghub" / "HDFS_2k.log"
    imported = athanor("data", "import", str(raw), "--name", "hdfs", "--log-format", HDFS_FORMAT)
    assert "16 templates mined from 2,000 lines; 2,200 sessions" in imported.stdout
    shown = athanor("data", "show", "hdfs").stdout
    assert "log templates (16):" in shown
    assert "key 1 (311 lines): PacketResponder <*> for block blk_<*> terminating" in shown

    # A slice of DeepLog's sessions: the abnormal file's sessions are labeled anomalous.
    sessions = tmp_path / "deeplog"
    sessions.mkdir()
    for name, count in (("hdfs_train", 400), ("hdfs_test_abnormal", 200)):
        lines = (MIRROR / "hdfs-logs" / "deeplog" / name).read_text().splitlines()[:count]
        (sessions / name).write_text("\n".join(lines) + "\n")
    keys = athanor("data", "import", str(sessions), "--kind", "log_keys", "--name", "deeplog")
    assert "600 sessions (400 normal, 200 anomalous)" in keys.stdout

    spec = tmp_path / "deeplog.yaml"
    spec.write_text(
        "name: deeplog-slice\nseed: 3\n"
        "data: {dataset: deeplog, split: {val: 0.2, test: 0.3}, log: {window: 6}}\n"
        "model: {template: log_lstm, units: 16, layers: 1, embedding_dim: 8}\n"
        "train: {epochs: 3, batch_size: 128, optimizer: {type: adam, lr: 0.02}}\n"
    )
    run = json.loads(athanor("train", str(spec), "--json").stdout)["run"]
    metrics = run["summary"]["metrics"]
    # All 200 anomalous sessions are tested beside the 120 held-out normal ones.
    report = run["summary"]["reports"]["log_anomaly"]
    assert report["true_positives"] + report["false_negatives"] == 200
    assert report["false_positives"] + report["true_negatives"] == 120
    assert metrics["test_session_recall"] > 0.5 and metrics["test_session_f1"] > 0.6
    assert run["summary"]["reports"]["log_anomaly_rule"]["chosen"].startswith("smallest g")

    # A model of the raw logs reads a raw log file: a line of a kind never seen is flagged.
    raw_spec = tmp_path / "hdfs.yaml"
    raw_spec.write_text(
        "name: hdfs-logs\nseed: 1\n"
        "data: {dataset: hdfs, split: {val: 0.2, test: 0.1}, log: {window: 3}}\n"
        "model: {template: log_lstm, units: 8, layers: 1, embedding_dim: 4}\n"
        "train: {epochs: 2, batch_size: 64, optimizer: {type: adam, lr: 0.02}}\n"
    )
    athanor("train", str(raw_spec), "--register", "hdfs-logs")
    app = tmp_path / "app.log"
    app.write_text("".join(raw.read_text().splitlines(keepends=True)[:30]) + FIRE + "\n")
    output = tmp_path / "flagged.csv"
    printed = athanor("predict", "hdfs-logs", str(app), "-o", str(output)).stdout
    assert "blk_38865049064139660" in printed and "caught fire" in printed
    with output.open(newline="") as handle:
        rows = {row["session"]: row for row in csv.DictReader(handle)}
    assert rows["blk_38865049064139660"]["anomalous"] == "1"
    assert rows["blk_38865049064139660"]["first_unexpected_template"] == (
        "<no template of the training logs fits>"
    )
