"""Draw LeNet-5, VGG-16 and ResNet, counted and trained, into docs/images/cnn-architectures.png.

Left: parameters and multiply-accumulates of one 224x224 RGB image, 10 classes, as
``athanor summary`` counts them (``examples/lenet5-mnist`` with its model replaced by each
template; LeNet-5 at its own 28x28). Right: why residual connections train: MLPs of 10 and
40 dense ReLU layers of 64 units, without batch norm, plain or as residual blocks of two
layers (``- residual: {filters: 64, batchnorm: false}`` on flat features), trained for 15
epochs on 1,000 MNIST digits (Adam at a constant 0.001): training loss per epoch. Run from
the repository root with MNIST available (``ATHANOR_DATA_MIRROR``), in about two minutes
on one CPU core:

    python docs/plots/cnn_architectures.py
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window

import matplotlib.pyplot as plt

IMAGES = Path(__file__).resolve().parents[1] / "images"
COUNTED = {
    "LeNet-5\n(28x28 grey)": ("{template: lenet5}", None),
    "VGG-16": ("{template: vgg, depth: 16}", (3, 224, 224)),
    "ResNet-18": ("{template: resnet, depth: 18}", (3, 224, 224)),
    "ResNet-50": ("{template: resnet, depth: 50}", (3, 224, 224)),
}
COMMON = [
    "data.subset.train=1000",
    "data.subset.val=2000",
    "data.subset.test=2000",
    "train.epochs=15",
    "train.optimizer.lr=0.001",
    "train.schedule={type: constant}",
    "train.early_stopping.patience=1000",
    "train.checkpoint.enabled=false",
]
DENSE = "{dense: {units: 64, activation: relu}}"
RESIDUAL = "{residual: {filters: 64, batchnorm: false}}"


def layers(depth: int, residual: bool) -> str:
    """A model override of ``depth`` dense layers, plain or as residual blocks of two."""
    body = [DENSE] + [RESIDUAL] * (depth // 2) if residual else [DENSE] * depth
    return f"model={{layers: [flatten, {', '.join(body)}]}}"


def main() -> Path:
    os.environ["ATHANOR_HOME"] = tempfile.mkdtemp(prefix="athanor-plot-")
    import torch

    import athanor as at

    torch.set_num_threads(1)  # the same numbers on any machine, and a quiet neighbour
    counts = {}
    for label, (model, shape) in COUNTED.items():
        totals = at.summary("lenet5-mnist", shape, overrides=[f"model={model}"]).to_json()
        counts[label] = totals["totals"]
        print(label.replace("\n", " "), counts[label]["parameters"], counts[label]["macs"])
    curves = {}
    for depth in (10, 40):
        for residual in (False, True):
            label = f"{depth} layers, {'residual' if residual else 'plain'}"
            run = at.train("lenet5-mnist", [*COMMON, layers(depth, residual)])
            curves[label] = run.fit.history
            print(label)
            print("  train_loss", [round(r["train_loss"], 3) for r in curves[label]])
            print("  val_accuracy", [round(r["val_accuracy"], 3) for r in curves[label]])
            print("  test", {k: round(v, 4) for k, v in run.test_metrics.items()})
    figure, (left, right) = plt.subplots(1, 2, figsize=(10.0, 3.8))
    names = list(counts)
    positions = range(len(names))
    left.bar(
        [p - 0.2 for p in positions],
        [counts[n]["parameters"] for n in names],
        0.4,
        label="parameters",
    )
    left.bar(
        [p + 0.2 for p in positions],
        [counts[n]["macs"] for n in names],
        0.4,
        label="multiply-accumulates per image",
    )
    left.set_yscale("log")
    left.set_xticks(list(positions), names, fontsize=8)
    left.set_title("athanor summary: one 224x224 RGB image, 10 classes", fontsize=9)
    left.legend(fontsize=8)
    styles = {"10": "tab:blue", "40": "tab:red"}
    for label, rows in curves.items():
        right.plot(
            range(1, len(rows) + 1),
            [r["train_loss"] for r in rows],
            color=styles[label.split()[0]],
            linestyle="-" if "residual" in label else "--",
            label=label,
        )
    right.set_yscale("log")
    right.set_xlabel("epoch")
    right.set_ylabel("training cross-entropy (log scale)")
    right.set_title("Deep ReLU MLPs on 1,000 digits, no batch norm", fontsize=9)
    right.legend(fontsize=8)
    figure.tight_layout()
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / "cnn-architectures.png"
    figure.savefig(path, dpi=72)
    return path


if __name__ == "__main__":
    print(main())
