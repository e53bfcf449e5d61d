"""``athanor predict MODEL series.csv`` with an anomaly detector and a forecaster, in a real
subprocess."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from athanor.registry import register_package
from athanor.store import open_store
from tests.cli.test_main import athanor
from tests.conftest import write_sunspots_csv


def test_anomaly_detector_writes_scores_intervals_and_plot(
    trained_nab_detector, nab_mirror: Path, tmp_path: Path
) -> None:
    run, _ = trained_nab_detector
    register_package(open_store(), "keys", run.package_dir)
    series = nab_mirror / "realKnownCause" / "rogue_agent_key_hold.csv"
    output = tmp_path / "keys.csv"
    plot = tmp_path / "keys.png"
    shown = athanor("predict", "keys", str(series), "-o", str(output), "--plot", str(plot))
    assert "timestamp(s) flagged in" in shown.stdout and "99th percentile" in shown.stdout
    assert "flagged intervals" in shown.stdout and "peak score" in shown.stdout
    with output.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1882 and rows[0].keys() == {"timestamp", "value", "score", "anomaly"}
    flagged = [row["timestamp"] for row in rows if row["anomaly"] == "True"]
    with (tmp_path / "keys-intervals.csv").open(newline="") as handle:
        intervals = list(csv.DictReader(handle))
    assert flagged and intervals and intervals[0]["start"] == flagged[0]
    assert sum(int(i["steps"]) for i in intervals) == len(flagged)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    repeated = tmp_path / "repeated.csv"
    repeated.write_text(series.read_text() + "2014-07-06 20:15:00,0.5\n")
    merged = json.loads(
        athanor(
            "predict",
            "keys",
            str(repeated),
            "--duplicates",
            "first",
            "-o",
            str(output),
            "--json",
        ).stdout
    )
    assert merged["notes"] == ["1 row(s) with a repeated timestamp merged (first kept)"]
    assert merged["flagged"] == len(flagged) and merged["timestamps"] == 1882
    assert merged["threshold_method"]["split"] == "val"
    assert merged["intervals_file"] == str(tmp_path / "keys-intervals.csv")


def test_forecaster_writes_the_future(trained_sunspots_forecaster, tmp_path: Path) -> None:
    run, _ = trained_sunspots_forecaster
    register_package(open_store(), "spots", run.package_dir)
    series = write_sunspots_csv(tmp_path / "sunspots.csv")
    output = tmp_path / "ahead.csv"
    plot = tmp_path / "ahead.png"
    shown = athanor("predict", "spots", str(series), "-o", str(output), "--plot", str(plot))
    assert "3 step(s) after sunspots.csv" in shown.stdout
    with output.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["timestamp"][:4] for row in rows] == ["2009", "2010", "2011"]
    assert all(float(row["SUNACTIVITY"]) == float(row["SUNACTIVITY"]) for row in rows)
    assert plot.stat().st_size > 10_000
