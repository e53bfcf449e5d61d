"""Draw overfitting and test-set reuse into docs/images/overfitting.png.

Left: a large MLP trained by Athanor on 300 California houses (``examples/mlp-california``
with ``data.subset.train: 300``, no early stopping, 150 epochs): the training loss keeps
falling while the validation loss turns up, the classic picture of overfitting. Right: why
a test set used to choose among models stops being a test set: the best test accuracy of
``k`` classifiers that guess at random (true accuracy 0.5) on a 100-example test set,
against ``k``, averaged over 200 repetitions. Run from the repository root with the dataset
available (``ATHANOR_DATA_MIRROR``), in under a minute on a CPU:

    python docs/plots/overfitting.py
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window

import matplotlib.pyplot as plt
import numpy as np

IMAGES = Path(__file__).resolve().parents[1] / "images"
OVERRIDES = [
    "data.subset.train=300",
    "model.hidden=[256,256]",
    "train.epochs=150",
    "train.optimizer.lr=0.003",
    "train.schedule={type: constant}",
    "train.early_stopping.patience=1000",
    "train.checkpoint.enabled=false",
]


def overfitting_history() -> list[dict[str, float]]:
    """Train the over-large network in a throw-away home and return its per-epoch metrics."""
    os.environ["ATHANOR_HOME"] = tempfile.mkdtemp(prefix="athanor-plot-")
    import athanor as at

    history = at.train("mlp-california", OVERRIDES).fit.history
    return [{**row, "epoch": number} for number, row in enumerate(history, start=1)]


def best_of_random(test_size: int = 100, most: int = 200, repeats: int = 200) -> np.ndarray:
    """Mean best test accuracy among the first k random classifiers, for k = 1..most."""
    generator = np.random.default_rng(0)
    correct = generator.random((repeats, most, test_size)) < 0.5
    accuracy = correct.mean(axis=2)
    return np.maximum.accumulate(accuracy, axis=1).mean(axis=0)


def main() -> Path:
    history = overfitting_history()
    best = best_of_random()
    figure, (curves, reuse) = plt.subplots(1, 2, figsize=(10.0, 3.8))
    epochs = [row["epoch"] for row in history]
    curves.plot(epochs, [row["train_loss"] for row in history], label="training loss")
    curves.plot(epochs, [row["val_loss"] for row in history], label="validation loss")
    lowest = min(history, key=lambda row: row["val_loss"])
    curves.axvline(lowest["epoch"], color="0.5", linestyle="--", linewidth=0.8)
    curves.annotate(
        f"best validation: epoch {lowest['epoch']:.0f}",
        (lowest["epoch"], 0.02),
        xycoords=("data", "axes fraction"),
        fontsize=8,
        color="0.3",
    )
    curves.set_xlabel("epoch")
    curves.set_ylabel("Huber loss (standardized price)")
    curves.set_title("MLP 256-256 on 300 houses: overfitting", fontsize=9)
    curves.legend(fontsize=8)
    reuse.plot(range(1, len(best) + 1), best, label="best test accuracy among k")
    reuse.axhline(0.5, color="0.5", linestyle="--", label="true accuracy of every model")
    reuse.set_xscale("log")
    reuse.set_xlabel("models compared on the same test set (k)")
    reuse.set_ylabel("accuracy")
    reuse.set_title("Choosing by the test set: random guessers, 100 test examples", fontsize=9)
    reuse.legend(fontsize=8)
    figure.tight_layout()
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / "overfitting.png"
    figure.savefig(path, dpi=72)
    last = history[-1]
    print(
        f"best val epoch {lowest['epoch']:.0f}: train {lowest['train_loss']:.4f} "
        f"val {lowest['val_loss']:.4f} rmse {lowest.get('val_rmse', float('nan')):.0f}"
    )
    print(
        f"last epoch {last['epoch']:.0f}: train {last['train_loss']:.4f} "
        f"val {last['val_loss']:.4f} rmse {last.get('val_rmse', float('nan')):.0f}"
    )
    print("best of k random:", {k: round(float(best[k - 1]), 3) for k in (1, 10, 50, 200)})
    return path


if __name__ == "__main__":
    print(main())
