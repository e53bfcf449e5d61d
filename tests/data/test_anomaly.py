"""Timestamp scores from window errors, thresholds, and flagged intervals."""

from __future__ import annotations

import numpy as np
import pytest

from athanor.data.anomaly import (
    choose_threshold,
    covering_starts,
    flagged_intervals,
    step_scores,
)


def test_covering_starts_reach_the_last_step() -> None:
    assert covering_starts(10, 4, 3).tolist() == [0, 3, 6]
    assert covering_starts(11, 4, 3).tolist() == [0, 3, 6, 7]
    assert covering_starts(4, 4, 8).tolist() == [0]


def test_step_scores_average_the_windows_covering_each_step() -> None:
    errors = np.array([[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]])
    scores = step_scores(errors, np.array([0, 2]), 6)
    assert scores[:5].tolist() == [1.0, 2.0, 6.5, 20.0, 30.0]
    assert np.isnan(scores[5])


def test_threshold_records_how_it_was_chosen() -> None:
    scores = np.r_[np.arange(100.0), np.nan]
    quantile = choose_threshold(scores, quantile=0.9)
    assert quantile["value"] == pytest.approx(89.1) and quantile["method"] == "quantile"
    assert quantile["split"] == "val" and quantile["statistics"]["count"] == 100
    assert quantile["statistics"]["max"] == 99.0
    sigma = choose_threshold(scores, method="sigma", k=2.0)
    assert sigma["value"] == pytest.approx(49.5 + 2 * np.arange(100.0).std())
    with pytest.raises(ValueError, match="no scores"):
        choose_threshold(np.array([np.nan]))


def test_flagged_intervals_are_runs_with_their_peak() -> None:
    stamps = np.arange("2024-01-01", "2024-01-08", dtype="datetime64[D]")
    scores = np.array([0.1, 5.0, 7.0, 0.2, 0.1, 9.0, 0.3])
    intervals = flagged_intervals(scores > 1.0, scores, stamps)
    assert [(i.start, i.end, i.peak_score) for i in intervals] == [(1, 2, 7.0), (5, 5, 9.0)]
    assert intervals[0].to_json() == {
        "start": "2024-01-02 00:00:00",
        "end": "2024-01-03 00:00:00",
        "steps": 2,
        "peak_score": 7.0,
        "peak_time": "2024-01-03 00:00:00",
    }
