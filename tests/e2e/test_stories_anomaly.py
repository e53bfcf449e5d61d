"""The anomaly and forecasting stories as a new user lives them: the real CLI in
subprocesses, NAB and sunspots from the mirror, short trainings, down to the flagged
timestamps and the forecast file."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.cli.test_main import athanor
from tests.conftest import write_sunspots_csv


def test_flag_anomalies_in_an_imported_nab_series(nab_mirror: Path, tmp_path: Path) -> None:
    source = nab_mirror / "realKnownCause" / "ec2_request_latency_system_failure.csv"
    refused = athanor("data", "import", str(source), "--name", "latency", "--skip-bad", check=False)
    assert refused.returncode == 2
    assert f"{source}:" in refused.stderr and "2014-03-09 03:00:00 appears again" in refused.stderr
    assert "--duplicates first" in refused.stderr

    imported = athanor("data", "import", str(source), "--name", "latency", "--duplicates", "first")
    assert "11 row(s) with a repeated timestamp merged" in imported.stdout

    spec = tmp_path / "latency-ae.yaml"
    spec.write_text(
        "name: latency-ae\nseed: 3\n"
        "data: {dataset: latency, task: reconstruction, split: {val: 0.15, test: 0.15},\n"
        "       window: {length: 32, stride: 8}}\n"
        "model: {template: lstm_autoencoder, units: 8, latent: 4}\n"
        "train: {epochs: 1, batch_size: 64}\n"
    )
    trained = json.loads(athanor("train", str(spec), "--register", "latency-ae", "--json").stdout)
    assert trained["run"]["status"] == "succeeded"
    shown = athanor("models", "show", "latency-ae")
    assert "anomaly threshold:" in shown.stdout and "quantile 0.99" in shown.stdout

    scores = tmp_path / "latency-scores.csv"
    predicted = athanor(
        "predict",
        "latency-ae",
        str(source),
        "--duplicates",
        "first",
        "-o",
        str(scores),
        "--plot",
        str(tmp_path / "latency.png"),
    )
    assert "timestamp(s) flagged in" in predicted.stdout
    with scores.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4021
    flagged = [row for row in rows if row["anomaly"] == "True"]
    calm = [row for row in rows if row["anomaly"] == "False"]
    assert flagged and len(flagged) + len(calm) == len(rows)
    # One threshold splits them: every flagged score is above every other one.
    assert min(float(r["score"]) for r in flagged) > max(float(r["score"]) for r in calm)
    with (tmp_path / "latency-scores-intervals.csv").open(newline="") as handle:
        intervals = list(csv.DictReader(handle))
    assert intervals[0]["start"] == flagged[0]["timestamp"]
    assert intervals[-1]["end"] == flagged[-1]["timestamp"]
    assert (tmp_path / "latency.png").stat().st_size > 10_000


def test_forecast_sunspots_past_the_last_year(tmp_path: Path) -> None:
    athanor(
        "train",
        "lstm-sunspots",
        "--set",
        "train.epochs=2",
        "--set",
        "model.units=8",
        "--register",
        "sunspots",
    )
    series = write_sunspots_csv(tmp_path / "sunspots.csv")
    output = tmp_path / "forecast.csv"
    athanor(
        "predict",
        "sunspots",
        str(series),
        "-o",
        str(output),
        "--plot",
        str(tmp_path / "forecast.png"),
    )
    with output.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["timestamp"] for row in rows] == [
        "2009-01-01 00:00:00",
        "2010-01-01 00:00:00",
        "2011-01-01 00:00:00",
    ]
    assert all(-50 < float(row["SUNACTIVITY"]) < 400 for row in rows)
    assert (tmp_path / "forecast.png").is_file()
