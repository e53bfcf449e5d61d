"""Whole-series predictions: anomaly scores, flags and intervals per timestamp, forecasts."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from athanor.errors import PredictionInputError
from athanor.registry.package import load_package
from athanor.registry.signature import export_metadata
from athanor.serve.predictor import Predictor
from athanor.serve.series_prediction import (
    detect_anomalies,
    forecast,
    future_timestamps,
    read_series,
    series_from_json,
)
from tests.conftest import write_sunspots_csv


@pytest.fixture(scope="module")
def detector(trained_nab_detector) -> Predictor:
    run, _ = trained_nab_detector
    return Predictor.from_package(run.package_dir, ref="keys-ae@1")


def test_the_package_keeps_the_threshold_and_how_it_was_chosen(trained_nab_detector) -> None:
    run, _ = trained_nab_detector
    package = load_package(run.package_dir)
    anomaly = package.metadata["anomaly"]
    assert anomaly == run.run.summary["reports"]["anomaly_threshold"]
    assert anomaly["method"] == "quantile" and anomaly["quantile"] == 0.99
    assert anomaly["split"] == "val" and anomaly["statistics"]["count"] > 100
    stats = anomaly["statistics"]
    assert stats["min"] <= stats["p50"] <= anomaly["value"] <= stats["max"]
    exported = export_metadata(package.metadata, package.content_hash)
    assert exported["anomaly"] == anomaly
    assert exported["window"] == {"length": 32, "stride": 8, "horizon": 1}


def test_a_series_csv_is_windowed_scored_and_flagged(detector: Predictor, nab_mirror) -> None:
    path = nab_mirror / "realKnownCause" / "rogue_agent_key_hold.csv"
    series = read_series(detector, path)
    result = detect_anomalies(detector, series)
    assert len(result.scores) == len(series.timestamps) == 1882
    assert np.isfinite(result.scores).all()  # every timestamp is covered by a window
    assert (result.flags == (result.scores > result.threshold)).all()
    assert result.threshold == detector.metadata["anomaly"]["value"]
    assert result.flags.any()  # a 99th percentile flags something on the whole series
    assert sum(i.end - i.start + 1 for i in result.intervals) == int(result.flags.sum())
    for interval in result.intervals:
        assert result.flags[interval.start : interval.end + 1].all()
        assert interval.peak_score == result.scores[interval.start : interval.end + 1].max()
    answer = result.to_json()
    assert answer["flagged"] == int(result.flags.sum()) and len(answer["timestamps"]) == 1882
    strict = detect_anomalies(detector, series, threshold=float(result.scores.max()))
    assert not strict.flags.any() and strict.intervals == []


def test_the_per_timestamp_csv_and_intervals_file(detector: Predictor, nab_mirror, tmp_path):
    path = nab_mirror / "realKnownCause" / "rogue_agent_key_hold.csv"
    result = detect_anomalies(detector, read_series(detector, path))
    result.write_csv(tmp_path / "scores.csv")
    result.write_intervals_csv(tmp_path / "intervals.csv")
    with (tmp_path / "scores.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["timestamp", "value", "score", "anomaly"]
    assert [row["timestamp"] for row in rows] == sorted(row["timestamp"] for row in rows)
    assert rows[0]["timestamp"] == "2014-07-06 20:10:00"  # the file is not in time order
    assert sum(row["anomaly"] == "True" for row in rows) == int(result.flags.sum())
    with (tmp_path / "intervals.csv").open(newline="") as handle:
        intervals = list(csv.DictReader(handle))
    assert len(intervals) == len(result.intervals)
    assert list(intervals[0]) == ["start", "end", "steps", "peak_score", "peak_time"]


def test_short_or_mismatched_series_are_refused(detector: Predictor, tmp_path: Path) -> None:
    short = tmp_path / "short.csv"
    short.write_text("timestamp,value\n2024-01-01,1\n2024-01-02,2\n")
    with pytest.raises(PredictionInputError, match="2 timestamp.*windows of 32 steps"):
        read_series(detector, short)
    wide = tmp_path / "wide.csv"
    rows = "".join(f"2024-01-{d:02d},1,2\n" for d in range(1, 31))
    wide.write_text("timestamp,a,b\n" + rows)
    with pytest.raises(PredictionInputError, match="columns a, b do not match.*value"):
        read_series(detector, wide)
    with pytest.raises(PredictionInputError, match="repeated timestamps"):
        series_from_json(detector, {"timestamps": ["2024-01-01"] * 40, "values": [1.0] * 40})


def test_json_series_with_merged_duplicates(detector: Predictor) -> None:
    stamps = [f"2024-01-01T{h:02d}:00" for h in range(24)] + ["2024-01-01T05:00"] * 2
    stamps += [f"2024-01-02T{h:02d}:00" for h in range(24)]
    values = list(np.linspace(0, 1, len(stamps)))
    series = series_from_json(
        detector, {"timestamps": stamps, "values": values, "duplicates": "mean"}
    )
    assert len(series.timestamps) == 48 and "2 row(s)" in series.notes[0]
    assert len(detect_anomalies(detector, series).scores) == 48


def test_forecast_continues_the_series(trained_sunspots_forecaster, tmp_path: Path) -> None:
    run, _ = trained_sunspots_forecaster
    predictor = Predictor.from_package(run.package_dir, ref="spots@1")
    series = read_series(predictor, write_sunspots_csv(tmp_path / "sunspots.csv"))
    result = forecast(predictor, series)
    assert [str(t)[:4] for t in result.timestamps] == ["2009", "2010", "2011"]
    assert result.values.shape == (3, 1) and np.isfinite(result.values).all()
    window = series.values[-24:][None]
    assert np.allclose(result.values[:, 0], predictor.scores(window)[0].ravel())
    answer = result.to_json()
    assert answer["forecast"]["timestamps"][0] == "2009-01-01 00:00:00"
    assert len(answer["history"]["timestamps"]) == 309
    json.dumps(answer)  # plain JSON
    with pytest.raises(PredictionInputError, match="not anomaly detection"):
        detect_anomalies(predictor, series)


def test_future_timestamps_keep_the_step() -> None:
    hourly = np.arange("2024-01-01T00", "2024-01-01T05", dtype="datetime64[h]").astype(
        "datetime64[ns]"
    )
    assert [str(t)[11:16] for t in future_timestamps(hourly, 2)] == ["05:00", "06:00"]
    assert future_timestamps(np.array([1, 3, 5]), 2).tolist() == [7, 9]


def test_predict_series_from_the_predictor(detector: Predictor, nab_mirror) -> None:
    result = detector.predict_series(nab_mirror / "realKnownCause" / "rogue_agent_key_hold.csv")
    assert len(result.flags) == 1882 and result.threshold == detector.metadata["anomaly"]["value"]
