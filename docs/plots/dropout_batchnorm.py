"""Draw dropout and batch normalization, measured, into docs/images/dropout-batchnorm.png.

Four short Athanor runs on 1,000 MNIST training digits (``examples/lenet5-mnist`` with its
model replaced by an MLP; 2,000 validation and 2,000 test digits; Adam at a constant 0.001;
early stopping and checkpoints off). Left: an MLP of 512-512 ReLU units for 40 epochs, with
and without ``dropout: 0.5``: training and validation loss. Right: a deep MLP of eight
sigmoid layers of 128 units for 20 epochs, with and without ``batchnorm: true``: training
loss and validation accuracy. Run from the repository root with MNIST available
(``ATHANOR_DATA_MIRROR``), in about two minutes on one CPU core:

    python docs/plots/dropout_batchnorm.py
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window

import matplotlib.pyplot as plt

IMAGES = Path(__file__).resolve().parents[1] / "images"
COMMON = [
    "data.subset.train=1000",
    "data.subset.val=2000",
    "data.subset.test=2000",
    "train.optimizer.lr=0.001",
    "train.schedule={type: constant}",
    "train.early_stopping.patience=1000",
    "train.checkpoint.enabled=false",
]
WIDE = "model={template: mlp, hidden: [512, 512]%s}"
DEEP = (
    "model={template: mlp, hidden: [128, 128, 128, 128, 128, 128, 128, 128], activation: sigmoid%s}"
)


def history(model: str, epochs: int) -> tuple[list[dict[str, float]], dict[str, float]]:
    """Train one variant and return its per-epoch metrics and its test metrics."""
    import athanor as at

    run = at.train("lenet5-mnist", [*COMMON, model, f"train.epochs={epochs}"])
    return run.fit.history, run.test_metrics


def main() -> Path:
    os.environ["ATHANOR_HOME"] = tempfile.mkdtemp(prefix="athanor-plot-")
    import torch

    torch.set_num_threads(1)  # the same numbers on any machine, and a quiet neighbour
    runs = {
        "no dropout": history(WIDE % "", 40),
        "dropout 0.5": history(WIDE % ", dropout: 0.5", 40),
        "no batch norm": history(DEEP % "", 20),
        "batch norm": history(DEEP % ", batchnorm: true", 20),
    }
    figure, (left, right) = plt.subplots(1, 2, figsize=(10.0, 3.8))
    for (label, (rows, _)), colour in zip(
        list(runs.items())[:2], ("tab:blue", "tab:orange"), strict=True
    ):
        epochs = range(1, len(rows) + 1)
        left.plot(
            epochs,
            [r["train_loss"] for r in rows],
            color=colour,
            linestyle="--",
            label=f"{label}: training",
        )
        left.plot(epochs, [r["val_loss"] for r in rows], color=colour, label=f"{label}: validation")
    left.set_yscale("log")
    left.set_xlabel("epoch")
    left.set_ylabel("cross-entropy (log scale)")
    left.set_title("MLP 512-512 on 1,000 digits: dropout", fontsize=9)
    left.legend(fontsize=8)
    twin = right.twinx()
    for (label, (rows, _)), colour in zip(
        list(runs.items())[2:], ("tab:blue", "tab:orange"), strict=True
    ):
        epochs = range(1, len(rows) + 1)
        right.plot(
            epochs,
            [r["train_loss"] for r in rows],
            color=colour,
            linestyle="--",
            label=f"{label}: training loss",
        )
        twin.plot(
            epochs,
            [r["val_accuracy"] for r in rows],
            color=colour,
            label=f"{label}: validation accuracy",
        )
    right.set_xlabel("epoch")
    right.set_ylabel("training cross-entropy (dashed)")
    twin.set_ylabel("validation accuracy (solid)")
    twin.set_ylim(0, 1)
    right.set_title("8 sigmoid layers of 128 on 1,000 digits: batch norm", fontsize=9)
    lines = right.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    right.legend(lines[0] + more[0], lines[1] + more[1], fontsize=7, loc="center right")
    figure.tight_layout()
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / "dropout-batchnorm.png"
    figure.savefig(path, dpi=72)
    for label, (rows, test) in runs.items():
        best = min(range(len(rows)), key=lambda i: rows[i]["val_loss"])
        print(
            label,
            f"best val_loss epoch {best + 1}:",
            {k: round(v, 4) for k, v in rows[best].items() if k.endswith(("loss", "accuracy"))},
        )
        for i in (0, 1, 4, 9, len(rows) - 1):
            print(
                f"  epoch {i + 1}:",
                {k: round(v, 4) for k, v in rows[i].items() if k.endswith(("loss", "accuracy"))},
            )
        print("  test", {k: round(v, 4) for k, v in test.items()})
    return path


if __name__ == "__main__":
    print(main())
