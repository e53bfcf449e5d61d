"""Draw the vanishing-gradient measurement into docs/images/vanishing-gradients.png.

One backward pass through a 10-layer MLP of 32 units on spiral points (the activation
explorer's measurement, :func:`athanor.lab.activations_demo.gradient_norms`): the norm of
each layer's weight gradient, input layer first, for sigmoid, tanh and ReLU from the same
initial weights. Run from the repository root (a second on a CPU):

    python docs/plots/vanishing_gradients.py
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window

import matplotlib.pyplot as plt

IMAGES = Path(__file__).resolve().parents[1] / "images"
ACTIVATIONS = ("sigmoid", "tanh", "relu")


def main() -> Path:
    from athanor.lab.activations_demo import gradient_norms

    measured = gradient_norms(list(ACTIVATIONS), depth=10, width=32, seed=0)
    figure, axes = plt.subplots(figsize=(6.4, 3.6))
    for entry in measured:
        norms = entry["norms"]  # the hidden layers, input first
        axes.plot(range(1, len(norms) + 1), norms, marker="o", label=entry["activation"])
    axes.set_yscale("log")
    axes.set_xlabel("layer (1 = next to the input)")
    axes.set_ylabel("‖∂loss/∂W‖ (log scale)")
    axes.set_title("Gradient norm per layer, 10-layer MLP, one backward pass")
    axes.legend()
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / "vanishing-gradients.png"
    figure.savefig(path, dpi=90)
    for entry in measured:
        print(f"{entry['activation']:8s} first/last hidden layer: {entry['ratio']:.3g}")
    return path


if __name__ == "__main__":
    print(main())
