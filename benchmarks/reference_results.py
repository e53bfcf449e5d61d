"""Reproduce the table of docs/results.md: train each reference example, compare with a baseline.

Each row is ``athanor train examples/<name>.yaml`` (through the Python API, into a fresh
store) plus the baseline the row is judged against, computed here on the same split:

- lenet5-mnist: test accuracy against the 99.0% target;
- mlp-california: test RMSE in dollars against a linear regression on the same features;
- lstm-sunspots: test MAE against the seasonal-naive forecast (one 11-year cycle back);
- charrnn-shakespeare: validation loss (nats/char), perplexity and a sample;
- autoencoder-nab: which of NAB's labeled anomaly windows are flagged, and false alarms;
- dcgan-mnist: D(x), D(G(z)) and the last grid of samples (copied to docs/images/).

    .venv/bin/python benchmarks/reference_results.py [--only NAME ...] [--images DIR]
"""

from __future__ import annotations

import argparse
import platform
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import athanor as at
from athanor.data.prepare import load_raw, prepare
from athanor.settings import Settings, current_settings
from athanor.spec import load_spec
from athanor.spec.examples import EXAMPLES_DIR
from athanor.training.callbacks.anomaly_threshold import anomaly_scores

ORDER = [
    "lenet5-mnist",
    "mlp-california",
    "lstm-sunspots",
    "charrnn-shakespeare",
    "autoencoder-nab",
    "dcgan-mnist",
]


def settings_in(home: Path) -> Settings:
    mirrors = current_settings().data_mirrors
    return Settings(home=home, db_url=f"sqlite:///{home / 'athanor.db'}", data_mirrors=mirrors)


def linear_regression_rmse(spec_path: Path, settings: Settings) -> float:
    from sklearn.linear_model import LinearRegression

    spec = load_spec(spec_path)
    prepared = prepare(spec.data, spec.seed, settings=settings)
    model = LinearRegression().fit(prepared.train.x.numpy(), prepared.train.y.numpy())
    predicted = torch.from_numpy(model.predict(prepared.test.x.numpy()).astype(np.float32))
    inverse = prepared.preprocessor.inverse_target
    error = inverse(predicted) - inverse(prepared.test.y)
    return float(error.square().mean().sqrt())


def seasonal_naive_mae(spec_path: Path, settings: Settings, period: int = 11) -> float:
    spec = load_spec(spec_path)
    prepared = prepare(spec.data, spec.seed, settings=settings)
    values = np.asarray(load_raw(spec.data.dataset, settings).x, dtype=np.float64)[:, 0]
    horizon = spec.data.window.horizon
    errors = []
    for stop in prepared.windows["test"].stop:  # the forecast covers steps stop..stop+h-1
        future = np.arange(stop, stop + horizon)
        errors.append(np.abs(values[future] - values[future - period]))
    return float(np.mean(errors))


def anomaly_report(run, spec_path: Path, settings: Settings) -> dict:
    spec = load_spec(spec_path)
    prepared = prepare(spec.data, spec.seed, settings=settings)
    raw = load_raw(spec.data.dataset, settings, series=spec.data.series)
    threshold = run.run.summary["reports"]["anomaly_threshold"]["window_threshold"]
    flagged: list[tuple[np.datetime64, np.datetime64, str]] = []
    for split in ("train", "val", "test"):
        scores = anomaly_scores(run.network, prepared.batches(split, 1024))
        index = prepared.windows[split]
        for score, begin, end in zip(scores, index.start_time, index.end_time, strict=True):
            if score > threshold:
                flagged.append((np.datetime64(begin), np.datetime64(end), split))
    labeled = [(np.datetime64(a), np.datetime64(b)) for a, b in raw.anomaly_windows or []]

    def overlaps(window, label) -> bool:
        return window[0] <= label[1] and label[0] <= window[1]

    found = [any(overlaps(w, label) for w in flagged) for label in labeled]
    false = sorted(w for w in flagged if not any(overlaps(w, label) for label in labeled))
    events = 0  # consecutive flagged windows make one alarm
    last_end = None
    for begin, end, _ in false:
        if last_end is None or begin > last_end:
            events += 1
        last_end = end if last_end is None else max(last_end, end)
    splits = {}
    for label in labeled:
        splits[str(label[0])] = sorted({s for b, e, s in flagged if overlaps((b, e), label)}) or [
            "-"
        ]
    return {
        "threshold": threshold,
        "labeled": [f"{a} .. {b}" for a, b in labeled],
        "found": found,
        "false_alarms": events,
        "flagged_windows": len(flagged),
        "splits": splits,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=ORDER, default=ORDER)
    parser.add_argument(
        "--images",
        type=Path,
        default=Path("docs/images"),
        help="Where the DCGAN sample grid is copied.",
    )
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads, "
        f"torch {torch.__version__}"
    )
    rows, notes = [], []
    with tempfile.TemporaryDirectory() as scratch:
        settings = settings_in(Path(scratch))
        for name in args.only:
            path = EXAMPLES_DIR / f"{name}.yaml"
            started = time.perf_counter()
            run = at.train(path, progress=False, settings=settings)
            wall = time.perf_counter() - started
            test, last = run.test_metrics, run.fit.history[-1]
            epochs = run.fit.epochs_run
            if name == "lenet5-mnist":
                result = f"test accuracy {test['test_accuracy']:.2%}"
                baseline = "target 99.0%"
            elif name == "mlp-california":
                result = f"test RMSE ${test['test_rmse']:,.0f} (R² {test['test_r2']:.3f})"
                baseline = f"linear regression ${linear_regression_rmse(path, settings):,.0f}"
            elif name == "lstm-sunspots":
                result = f"test MAE {test['test_mae']:.1f}"
                baseline = f"seasonal naive {seasonal_naive_mae(path, settings):.1f}"
            elif name == "charrnn-shakespeare":
                result = (
                    f"val loss {last['val_loss']:.3f} nats/char "
                    f"(perplexity {last['val_perplexity']:.2f})"
                )
                baseline = "uniform over the vocabulary: " + (
                    f"{np.log(len(run.predictor().schema.input.vocab)):.2f} nats"
                )
                sample = run.run.summary.get("reports", {}).get("text_samples", [""])[-1]
                notes.append(("charrnn-shakespeare: sample after the last epoch", sample[:500]))
            elif name == "autoencoder-nab":
                report = anomaly_report(run, path, settings)
                hits = sum(report["found"])
                result = (
                    f"{hits} of {len(report['found'])} labeled anomaly windows flagged, "
                    f"{report['false_alarms']} false alarm(s)"
                )
                baseline = f"threshold {report['threshold']:.3f} (99th pct of validation)"
                details = "\n".join(
                    f"{label}: {'flagged' if hit else 'missed'} (split {', '.join(split)})"
                    for label, hit, split in zip(
                        report["labeled"], report["found"], report["splits"].values(), strict=True
                    )
                )
                notes.append(("autoencoder-nab: labeled windows", details))
            else:
                result = f"D(x) {last['train_d_real']:.2f}, D(G(z)) {last['train_d_fake']:.2f}"
                baseline = "samples: docs/images/dcgan-mnist.png"
                samples = run.run.summary.get("reports", {}).get("samples", [])
                if samples:
                    args.images.mkdir(parents=True, exist_ok=True)
                    shutil.copy(samples[-1], args.images / "dcgan-mnist.png")
            rows.append((name, result, baseline, epochs, wall))
    print("\n| example | result | baseline | epochs | wall time |")
    print("|---|---|---|---|---|")
    for name, result, baseline, epochs, wall in rows:
        print(f"| `{name}` | {result} | {baseline} | {epochs} | {wall / 60:.1f} min |")
    for title, text in notes:
        print(f"\n{title}:\n```\n{text}\n```")


if __name__ == "__main__":
    main()
