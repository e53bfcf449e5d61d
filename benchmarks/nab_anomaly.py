"""NAB realKnownCause: the LSTM autoencoder's flags against NAB's labeled anomaly windows,
beside a rolling z-score baseline.

For each of the seven series: a short training of ``examples/autoencoder-nab.yaml`` on the
series (first 70% train, 15% validation, 15% test, in time order), then ``predict`` on the
whole series CSV as a user runs it (the model windows the series itself and flags each
timestamp whose score is above the threshold stored in its package: the 99th percentile of
the validation part's timestamp scores).

The baseline scores each timestamp by its rolling z-score, ``|x_t - mean| / std`` over the
``WINDOW`` steps before it, and flags by the same rule: above the 99th percentile of its
scores on the same validation part.

Both are judged the same way over the whole series, with NAB's labeled windows
(``labels/combined_windows.json``):

- window recall: labeled windows holding at least one flagged timestamp / labeled windows;
- interval precision: flagged intervals (runs of consecutive flagged timestamps) that touch
  a labeled window / all flagged intervals; an interval outside every window is a false
  positive.

NAB's own score (sigmoid-weighted, normalized with null and perfect detectors) is not
computed here.

    ATHANOR_DATA_MIRROR=DIR python benchmarks/nab_anomaly.py [--epochs 2] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

import athanor as at
from athanor.data.anomaly import flagged_intervals
from athanor.data.download import fetch
from athanor.data.sources.nab import LABELS, SERIES_SHA256, series_file
from athanor.serve.predictor import Predictor
from athanor.serve.series_prediction import detect_anomalies, read_series
from athanor.settings import Settings, current_settings

SERIES = sorted(SERIES_SHA256)
WINDOW = 64  # the z-score's look-back, as long as the autoencoder's window
QUANTILE = 0.99
SPLIT = {"val": 0.15, "test": 0.15}


@dataclass
class Judged:
    """How a detector's flags meet the labeled windows of one series."""

    windows: int
    detected: int
    intervals: int
    true_intervals: int
    flagged: int

    @property
    def recall(self) -> float:
        return self.detected / self.windows if self.windows else float("nan")

    @property
    def precision(self) -> float:
        return self.true_intervals / self.intervals if self.intervals else float("nan")


def judge(flags: np.ndarray, stamps: np.ndarray, labeled: list[tuple[str, str]]) -> Judged:
    """Window recall and interval precision of ``flags`` over ``stamps``."""
    inside = np.zeros(len(stamps), dtype=bool)
    detected = 0
    for start, end in labeled:
        window = (stamps >= np.datetime64(start)) & (stamps <= np.datetime64(end))
        inside |= window
        detected += bool((flags & window).any())
    scores = flags.astype(np.float64)
    intervals = flagged_intervals(flags, scores, stamps)
    true = sum(bool(inside[i.start : i.end + 1].any()) for i in intervals)
    return Judged(len(labeled), detected, len(intervals), true, int(flags.sum()))


def rolling_zscores(values: np.ndarray, window: int) -> np.ndarray:
    """``|x_t - mean| / std`` of the ``window`` steps before t (NaN for the first ones)."""
    scores = np.full(len(values), np.nan)
    sums = np.cumsum(np.r_[0.0, values])
    squares = np.cumsum(np.r_[0.0, values**2])
    t = np.arange(window, len(values))
    mean = (sums[t] - sums[t - window]) / window
    variance = np.maximum((squares[t] - squares[t - window]) / window - mean**2, 0.0)
    scores[t] = np.abs(values[t] - mean) / np.sqrt(variance + 1e-12)
    return scores


def validation_part(steps: int) -> slice:
    """The validation part of a series of ``steps`` split 70/15/15 in time order (as the
    run's time split: the test part is the latest)."""
    test = round(steps * SPLIT["test"])
    val = round(steps * SPLIT["val"])
    return slice(steps - test - val, steps - test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=SERIES, default=SERIES)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--units", type=int, default=32)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads, "
        f"torch {torch.__version__}; autoencoder: {args.epochs} epoch(s), {args.units} units"
    )
    mirrors = current_settings().data_mirrors
    rows = []
    totals = {"ae": [0, 0, 0, 0], "z": [0, 0, 0, 0]}
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch)
        settings = Settings(
            home=home, db_url=f"sqlite:///{home / 'athanor.db'}", data_mirrors=mirrors
        )
        labels = json.loads(fetch(LABELS, settings=settings).read_text())
        for name in args.only:
            path = fetch(series_file(name), settings=settings)
            labeled = [(a, b) for a, b in labels[f"realKnownCause/{name}.csv"]]
            started = time.perf_counter()
            run = at.train(
                "autoencoder-nab",
                {
                    "data.series": name,
                    "data.split": SPLIT,
                    "train.epochs": args.epochs,
                    "train.early_stopping": None,
                    "model.units": args.units,
                    "model.latent": 8,
                },
                progress=False,
                settings=settings,
            )
            predictor = Predictor.from_package(run.package_dir)
            series = read_series(predictor, path, duplicates="first")
            result = detect_anomalies(predictor, series)
            wall = time.perf_counter() - started
            ae = judge(result.flags, series.timestamps, labeled)

            values = series.values[:, 0].astype(np.float64)
            z = rolling_zscores(values, WINDOW)
            part = z[validation_part(len(z))]
            z_threshold = float(np.quantile(part[np.isfinite(part)], QUANTILE))
            baseline = judge(np.nan_to_num(z, nan=0.0) > z_threshold, series.timestamps, labeled)
            for key, judged in (("ae", ae), ("z", baseline)):
                totals[key][0] += judged.windows
                totals[key][1] += judged.detected
                totals[key][2] += judged.intervals
                totals[key][3] += judged.true_intervals
            rows.append((name, len(series.timestamps), ae, baseline, wall))
            print(f"{name}: done in {wall:.0f} s", flush=True)
    print(
        "\n| series | steps | labeled windows | autoencoder: windows found | intervals "
        "(true) | precision | recall | z-score: windows found | intervals (true) | precision "
        "| recall | train + predict |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, steps, ae, z, wall in rows:
        print(
            f"| {name} | {steps:,} | {ae.windows} | {ae.detected} | {ae.intervals} "
            f"({ae.true_intervals}) | {ae.precision:.2f} | {ae.recall:.2f} | {z.detected} | "
            f"{z.intervals} ({z.true_intervals}) | {z.precision:.2f} | {z.recall:.2f} | "
            f"{wall:.0f} s |"
        )
    line = []
    for key in ("ae", "z"):
        windows, detected, intervals, true = totals[key]
        line.append(
            f"{detected} | {intervals} ({true}) | {true / max(intervals, 1):.2f} | "
            f"{detected / max(windows, 1):.2f}"
        )
    print(f"| **all** | | {totals['ae'][0]} | {line[0]} | {line[1]} | |")


if __name__ == "__main__":
    main()
