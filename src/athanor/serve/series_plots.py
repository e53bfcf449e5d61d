"""Figures of series predictions: a series with its anomaly scores and flagged spans, or a
history with its forecast (matplotlib, drawn to a PNG file)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from athanor.errors import UserError

if TYPE_CHECKING:
    from athanor.serve.series_prediction import AnomalyResult, ForecastResult


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise UserError(
            "--plot needs matplotlib, which athanor depends on: pip install matplotlib"
        ) from None
    matplotlib.use("Agg")  # files only; no display needed
    import matplotlib.pyplot as plt

    return plt


def plot_anomalies(
    result: AnomalyResult, path: Path, *, labeled: Sequence[tuple[Any, Any]] = ()
) -> Path:
    """The series (top) and its scores with the threshold (bottom), flagged spans shaded.

    Args:
        result: the detector's answer on a series.
        path: the PNG file to write.
        labeled: known anomaly windows ``(start, end)`` (e.g. NAB's labels), shaded green
            under the series so that the flags can be judged against them.
    """
    plt = _pyplot()
    stamps = result.series.timestamps
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(12, 5.5), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    for j, name in enumerate(result.series.features):
        top.plot(stamps, result.series.values[:, j], linewidth=0.8, label=name)
    bottom.plot(stamps, result.scores, linewidth=0.8, color="tab:purple", label="score")
    bottom.axhline(
        result.threshold,
        color="tab:red",
        linestyle="--",
        linewidth=1,
        label=f"threshold {result.threshold:.4g}",
    )
    flagged = result.flags.astype(bool)
    if flagged.any():  # one-step intervals are too thin to see as spans: mark the points
        for j in range(result.series.values.shape[1]):
            top.scatter(
                stamps[flagged], result.series.values[flagged, j], s=12, color="tab:red", zorder=3
            )
        bottom.scatter(
            stamps[flagged],
            result.scores[flagged],
            s=12,
            color="tab:red",
            zorder=3,
            label="flagged",
        )
    for index, (start, end) in enumerate(labeled):
        top.axvspan(
            np.datetime64(start) if isinstance(start, str) else start,
            np.datetime64(end) if isinstance(end, str) else end,
            color="tab:green",
            alpha=0.2,
            linewidth=0,
            label="labeled anomaly window" if index == 0 else None,
        )
    for interval in result.intervals:
        for axis in (top, bottom):
            axis.axvspan(
                interval.start_time, interval.end_time, color="tab:red", alpha=0.25, linewidth=0
            )
    top.set_title(
        f"{result.model or 'model'}: {int(result.flags.sum()):,} flagged timestamp(s) in "
        f"{len(result.intervals)} interval(s)"
    )
    top.legend(loc="upper left")
    bottom.set_ylabel("anomaly score")
    bottom.set_yscale("log")
    bottom.legend(loc="upper left")
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot_forecast(result: ForecastResult, path: Path) -> Path:
    """The history and the forecast after it, per target."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(12, 4.5))
    history = result.series
    for j, name in enumerate(history.features):
        axis.plot(history.timestamps, history.values[:, j], linewidth=0.9, label=name)
    for j, name in enumerate(result.targets):
        # Join the forecast to the last observed value so the two lines meet.
        source = history.features.index(name) if name in history.features else 0
        xs = [history.timestamps[-1], *result.timestamps]
        ys = [history.values[-1, source], *result.values[:, j]]
        axis.plot(
            xs,
            ys,
            linewidth=1.6,
            linestyle="--",
            marker="o",
            markersize=3,
            label=f"{name} forecast",
        )
    axis.axvline(history.timestamps[-1], color="grey", linewidth=0.8)
    axis.set_title(f"{result.model or 'model'}: {len(result.timestamps)} step(s) ahead")
    axis.legend(loc="upper left")
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
