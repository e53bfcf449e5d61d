"""Anomaly scores of a series' timestamps from its windows, the threshold that flags them,
and the flagged intervals.

An autoencoder scores windows; a timestamp's score is the mean, over every window that
covers it, of the squared reconstruction error at that step (averaged over features). The
threshold is chosen on the validation part's timestamp scores, and the same rule flags the
timestamps of any series later: ``score > threshold``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

THRESHOLD_METHODS = ("quantile", "sigma")
"""``quantile``: the q-quantile of the validation scores; ``sigma``: their mean plus k
standard deviations."""


@dataclass
class FlaggedInterval:
    """A run of consecutive flagged timestamps: first and last step (inclusive), their
    timestamps, and the highest score inside with its timestamp."""

    start: int
    end: int
    start_time: Any
    end_time: Any
    peak_score: float
    peak_time: Any

    def to_json(self) -> dict[str, Any]:
        return {
            "start": _stamp(self.start_time),
            "end": _stamp(self.end_time),
            "steps": self.end - self.start + 1,
            "peak_score": self.peak_score,
            "peak_time": _stamp(self.peak_time),
        }


def _stamp(value: Any) -> Any:
    if isinstance(value, np.datetime64):
        return np.datetime_as_string(value, unit="s").replace("T", " ")
    if isinstance(value, np.generic):
        return value.item()
    return value


def covering_starts(steps: int, length: int, stride: int) -> np.ndarray:
    """Window starts every ``stride`` steps, plus one ending at the last step, so every
    timestamp of a series of ``steps >= length`` steps is covered."""
    starts = np.arange(0, steps - length + 1, stride, dtype=np.int64)
    if len(starts) == 0 or starts[-1] != steps - length:
        starts = np.append(starts, steps - length)
    return starts


def step_scores(errors: np.ndarray, starts: np.ndarray, steps: int) -> np.ndarray:
    """Each step's mean error over the windows covering it (NaN where none does).

    Args:
        errors: ``[N, length]`` squared reconstruction error of each window's steps.
        starts: ``[N]`` first step of each window in the series.
        steps: the series' length.
    """
    length = errors.shape[1]
    total = np.zeros(steps, dtype=np.float64)
    count = np.zeros(steps, dtype=np.int64)
    index = (starts[:, None] + np.arange(length)[None, :]).ravel()
    np.add.at(total, index, errors.astype(np.float64).ravel())
    np.add.at(count, index, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def score_statistics(scores: np.ndarray) -> dict[str, float]:
    """Count, mean, standard deviation, min, max and quantiles of finite scores."""
    finite = scores[np.isfinite(scores)]
    if not len(finite):
        return {"count": 0}
    quantiles = np.quantile(finite, [0.5, 0.9, 0.99])
    return {
        "count": len(finite),
        "mean": float(finite.mean()),
        "std": float(finite.std()),
        "min": float(finite.min()),
        "p50": float(quantiles[0]),
        "p90": float(quantiles[1]),
        "p99": float(quantiles[2]),
        "max": float(finite.max()),
    }


def choose_threshold(
    scores: np.ndarray,
    *,
    method: str = "quantile",
    quantile: float = 0.99,
    k: float = 3.0,
    split: str = "val",
) -> dict[str, Any]:
    """The threshold over ``scores`` (assumed mostly normal) and how it was chosen.

    Returns:
        ``{"value", "method", "quantile" or "k", "split", "score": "timestamp...",
        "statistics": {...}}``, the record a model package keeps.

    Raises:
        ValueError: no finite score, or an unknown method.
    """
    finite = scores[np.isfinite(scores)]
    if not len(finite):
        raise ValueError("no scores to choose a threshold from")
    record: dict[str, Any] = {"method": method, "split": split}
    if method == "quantile":
        record["value"] = float(np.quantile(finite, quantile))
        record["quantile"] = quantile
    elif method == "sigma":
        record["value"] = float(finite.mean() + k * finite.std())
        record["k"] = k
    else:
        raise ValueError(f"unknown threshold method {method!r}; one of {THRESHOLD_METHODS}")
    record["score"] = (
        "per timestamp: mean over the windows covering it of the squared reconstruction "
        "error at that step"
    )
    record["statistics"] = score_statistics(finite)
    return record


def flagged_intervals(
    flags: np.ndarray, scores: np.ndarray, timestamps: np.ndarray
) -> list[FlaggedInterval]:
    """Runs of consecutive flagged steps, in time order."""
    padded = np.r_[False, flags.astype(bool), False]
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    intervals = []
    for begin, stop in zip(edges[::2], edges[1::2], strict=True):
        peak = begin + int(np.nanargmax(scores[begin:stop]))
        intervals.append(
            FlaggedInterval(
                start=int(begin),
                end=int(stop - 1),
                start_time=timestamps[begin],
                end_time=timestamps[stop - 1],
                peak_score=float(scores[peak]),
                peak_time=timestamps[peak],
            )
        )
    return intervals
