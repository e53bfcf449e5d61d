"""The series figures: an anomaly detector's answer drawn with known anomaly windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from athanor.data.anomaly import flagged_intervals
from athanor.serve.series_plots import plot_anomalies
from athanor.serve.series_prediction import AnomalyResult, Series


def _result() -> AnomalyResult:
    stamps = np.arange("2024-01-01T00:00", "2024-01-03T00:00", 15, dtype="datetime64[m]")
    values = np.sin(np.arange(len(stamps)) / 8.0)[:, None]
    values[100:104] += 4.0  # a spike the detector flags
    scores = np.abs(values[:, 0]) + 0.01
    flags = scores > 2.0
    return AnomalyResult(
        model="spiky",
        series=Series(timestamps=stamps, values=values, features=["value"]),
        scores=scores,
        flags=flags,
        threshold=2.0,
        threshold_record={"method": "fixed"},
        intervals=flagged_intervals(flags, scores, stamps),
    )


def _greenish(path: Path) -> int:
    pixels = np.asarray(Image.open(path).convert("RGB")).astype(int)
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    return int(((green > red + 15) & (green > blue + 15)).sum())


def test_labeled_windows_are_shaded_beside_the_flags(tmp_path: Path) -> None:
    result = _result()
    plain = plot_anomalies(result, tmp_path / "plain.png")
    labeled = plot_anomalies(
        result,
        tmp_path / "labeled.png",
        labeled=[("2024-01-01 20:00:00.000000", "2024-01-02 06:00:00.000000")],
    )
    assert plain.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the window (10 of the 48 hours) and its legend entry are green; nothing else is
    assert _greenish(plain) == 0
    assert _greenish(labeled) > 10_000
