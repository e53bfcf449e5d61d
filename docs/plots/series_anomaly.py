"""Flag anomalies in a NAB series and judge the flags against NAB's labeled windows; draw
the series with its flags and the labeled windows into docs/images/series-anomaly.png.

Without ``--judge``: ``examples/autoencoder-nab.yaml`` (an LSTM autoencoder on NAB's
``machine_temperature_system_failure``, windows of 64 steps every 8) trained by Athanor for
``--epochs`` epochs (3: a few minutes on one CPU core), then asked for the whole series as
``athanor predict`` asks it, judged, and drawn with the project's own series plot
(``athanor.serve.series_plots``, as ``athanor predict --plot`` draws it) with the labeled
windows added. Run from the repository root with NAB available (``ATHANOR_DATA_MIRROR``):

    python docs/plots/series_anomaly.py

With ``--judge FILE``: only judge the ``anomaly`` column of a CSV that ``athanor predict``
wrote for that series (seconds; the lesson's commands do this).

    python docs/plots/series_anomaly.py --judge machine-anomalies.csv

The judgement, against the labeled windows of ``labels/combined_windows.json``:

- points: precision = flagged timestamps inside a labeled window / flagged timestamps;
  recall = labeled timestamps flagged / labeled timestamps;
- windows: recall = labeled windows holding at least one flagged timestamp / labeled windows;
- intervals (runs of consecutive flagged timestamps): precision = intervals touching a
  labeled window / intervals (``benchmarks/nab_anomaly.py`` reports these two).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import tempfile
from pathlib import Path

import numpy as np

IMAGES = Path(__file__).resolve().parents[1] / "images"
SERIES = "machine_temperature_system_failure"


def labeled_windows(series: str) -> list[tuple[str, str]]:
    """NAB's labeled anomaly windows of ``series`` (from the mirror or the download cache)."""
    from athanor.data.download import fetch
    from athanor.data.sources.nab import LABELS

    labels = json.loads(fetch(LABELS).read_text())
    return [(start, end) for start, end in labels[f"realKnownCause/{series}.csv"]]


def judge(flags: np.ndarray, stamps: np.ndarray, labeled: list[tuple[str, str]]) -> dict:
    """Point, window and interval precision and recall of ``flags`` over ``stamps``."""
    from athanor.data.anomaly import flagged_intervals

    inside = np.zeros(len(stamps), dtype=bool)
    found = []
    for start, end in labeled:
        window = (stamps >= np.datetime64(start)) & (stamps <= np.datetime64(end))
        inside |= window
        found.append(bool((flags & window).any()))
    intervals = flagged_intervals(flags, flags.astype(np.float64), stamps)
    true_intervals = sum(bool(inside[i.start : i.end + 1].any()) for i in intervals)
    flagged = int(flags.sum())
    hits = int((flags & inside).sum())
    return {
        "steps": len(stamps),
        "flagged": flagged,
        "labeled_steps": int(inside.sum()),
        "flagged_in_windows": hits,
        "point_precision": hits / flagged if flagged else float("nan"),
        "point_recall": hits / int(inside.sum()) if inside.any() else float("nan"),
        "windows": len(labeled),
        "windows_found": sum(found),
        "found": found,
        "window_recall": sum(found) / len(labeled) if labeled else float("nan"),
        "intervals": len(intervals),
        "true_intervals": true_intervals,
        "interval_precision": true_intervals / len(intervals) if intervals else float("nan"),
    }


def report(judged: dict, labeled: list[tuple[str, str]]) -> None:
    """Print the judgement."""
    print(
        f"{judged['steps']:,} timestamps, {judged['flagged']:,} flagged; "
        f"{judged['labeled_steps']:,} inside NAB's {judged['windows']} labeled windows"
    )
    for (start, end), hit in zip(labeled, judged["found"], strict=True):
        print(f"  window {start[:16]} .. {end[:16]}: {'found' if hit else 'missed'}")
    print(
        f"points:    precision {judged['point_precision']:.2f} "
        f"({judged['flagged_in_windows']:,} of {judged['flagged']:,} flags inside a window), "
        f"recall {judged['point_recall']:.2f}"
    )
    print(
        f"windows:   recall {judged['window_recall']:.2f} "
        f"({judged['windows_found']} of {judged['windows']} found)"
    )
    print(
        f"intervals: precision {judged['interval_precision']:.2f} "
        f"({judged['true_intervals']} of {judged['intervals']} touch a window)"
    )


def read_flags(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The timestamps and ``anomaly`` flags of a CSV written by ``athanor predict``."""
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    stamps = np.array([row["timestamp"] for row in rows], dtype="datetime64[s]")
    flags = np.array([row["anomaly"] == "True" for row in rows])
    return stamps, flags


def draw(epochs: int) -> Path:
    """Train the example, flag the whole series, judge and draw it."""
    home = Path(tempfile.mkdtemp(prefix="athanor-plot-"))
    os.environ["ATHANOR_HOME"] = str(home)
    import torch
    from PIL import Image

    import athanor as at
    from athanor.data.download import fetch
    from athanor.data.sources.nab import series_file
    from athanor.serve.predictor import Predictor
    from athanor.serve.series_plots import plot_anomalies
    from athanor.serve.series_prediction import detect_anomalies, read_series

    torch.set_num_threads(1)  # the same numbers on any machine, and a quiet neighbour
    run = at.train(
        "autoencoder-nab",
        [f"train.epochs={epochs}", "train.early_stopping=null"],
        progress=False,
    )
    for epoch, row in enumerate(run.fit.history, start=1):
        print(epoch, {k: round(v, 4) for k, v in row.items() if k.endswith("loss")})
    predictor = Predictor.from_package(run.package_dir)
    series = read_series(predictor, fetch(series_file(SERIES)), duplicates="first")
    result = detect_anomalies(predictor, series)
    print(f"threshold {result.threshold:.3f} (99th percentile of the validation scores)")
    labeled = labeled_windows(SERIES)
    report(judge(result.flags.astype(bool), series.timestamps, labeled), labeled)
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / "series-anomaly.png"
    result.model = f"autoencoder-nab, {epochs} epochs"
    plot_anomalies(result, path, labeled=labeled)
    # a few flat colours: a palette PNG is a third of the bytes
    Image.open(path).convert("RGB").quantize(colors=64).save(path, optimize=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--judge", type=Path, help="a CSV written by athanor predict")
    parser.add_argument("--series", default=SERIES, help="the NAB series it was written for")
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    if args.judge is None:
        print(draw(args.epochs))
        return
    labeled = labeled_windows(args.series)
    stamps, flags = read_flags(args.judge)
    report(judge(flags, stamps, labeled), labeled)


if __name__ == "__main__":
    main()
