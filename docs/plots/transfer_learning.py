"""Draw transfer learning from Athanor's own zoo into docs/images/transfer-learning.png.

Test accuracy on MNIST digits 5-9 (all 4,861 official test images of those digits) against
the number of labelled training images, for the MNIST CNN trained from scratch, as frozen
features of ``zoo:mnist-cnn-digits-0-4`` (a network that never saw a 5, 6, 7, 8 or 9), and
fine-tuned from it: the mean of three seeds, each seed's value as a dot. The numbers come from
``benchmarks/zoo.py``, which writes them to ``docs/plots/transfer-learning.json`` (tens of
minutes on a CPU); this script only draws them:

    python benchmarks/zoo.py && python docs/plots/transfer_learning.py
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window

import matplotlib.pyplot as plt

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "transfer-learning.json"
IMAGES = HERE.parent / "images"
STYLE = {
    "scratch": ("from scratch", "#7f7f7f", "o"),
    "features": ("frozen features (only the head learns)", "#1f77b4", "s"),
    "fine_tune": ("fine-tuned (backbone at 0.1x the rate)", "#d62728", "^"),
}


def main() -> Path:
    results = json.loads(RESULTS.read_text())
    accuracy = results["test_accuracy"]
    figure, axis = plt.subplots(figsize=(7.2, 4.2))
    for method, (label, colour, marker) in STYLE.items():
        sizes = sorted(int(n) for n in accuracy[method])
        means = [100 * statistics.mean(accuracy[method][str(n)]) for n in sizes]
        axis.plot(sizes, means, marker=marker, color=colour, label=label)
        for n in sizes:
            values = [100 * v for v in accuracy[method][str(n)]]
            axis.scatter([n] * len(values), values, color=colour, s=10, alpha=0.5)
        for n, mean in zip(sizes, means, strict=True):
            axis.annotate(
                f"{mean:.1f}",
                (n, mean),
                textcoords="offset points",
                xytext={"scratch": (6, -12), "features": (6, 4), "fine_tune": (-26, 6)}[method],
                fontsize=8,
                color=colour,
            )
    axis.set_xscale("log")
    sizes = sorted(int(n) for n in accuracy["scratch"])
    axis.set_xticks(sizes, [f"{n:,}" for n in sizes])
    axis.set_xlabel("labelled training images of digits 5-9")
    axis.set_ylabel("test accuracy on digits 5-9 (%)")
    axis.set_title(
        f"Transfer from a CNN trained on digits 0-4 (zoo:{results['source']}): "
        f"{len(results['seeds'])} seeds, {results['epochs']} epochs each",
        fontsize=10,
    )
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / "transfer-learning.png"
    figure.savefig(path, dpi=80)
    return path


if __name__ == "__main__":
    print(main())
