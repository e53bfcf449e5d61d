"""Draw the "AI winter" story into docs/images/xor-decision-boundaries.png.

Trains the bundled examples for real (``xor-perceptron`` on the and, or and xor truth
tables, and ``xor-mlp`` on xor) in a throw-away Athanor home, then colours the plane by
each trained network's probability of class 1: a perceptron's boundary is a straight line,
which separates and and or but never xor; one hidden layer bends it. Run from the
repository root after ``pip install -e ".[docs]"`` (a few seconds on a CPU):

    python docs/plots/decision_boundaries.py
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window

import matplotlib.pyplot as plt
import torch

IMAGES = Path(__file__).resolve().parents[1] / "images"
PANELS = (
    ("xor-perceptron", "and", "perceptron on AND"),
    ("xor-perceptron", "or", "perceptron on OR"),
    ("xor-perceptron", "xor", "perceptron on XOR"),
    ("xor-mlp", "xor", "MLP (8 tanh units) on XOR"),
)


def probability_of_one(network: torch.nn.Module, points: torch.Tensor) -> torch.Tensor:
    """The network's probability of class 1 at each point (inputs are not normalized)."""
    network.eval()
    with torch.no_grad():
        logits = network(points)
    if logits.shape[-1] == 1:
        return torch.sigmoid(logits[:, 0])
    return torch.softmax(logits, dim=-1)[:, 1]


def main() -> Path:
    import athanor as at
    from athanor.data.sources.logic_gates import GATES, INPUTS

    IMAGES.mkdir(parents=True, exist_ok=True)
    axis_values = torch.linspace(-0.5, 1.5, 201)
    grid_y, grid_x = torch.meshgrid(axis_values, axis_values, indexing="ij")
    points = torch.stack([grid_x.reshape(-1), grid_y.reshape(-1)], dim=1)
    figure, axes = plt.subplots(1, len(PANELS), figsize=(12, 3.3), dpi=80)
    with tempfile.TemporaryDirectory() as home:
        os.environ["ATHANOR_HOME"] = home
        for axis, (example, gate, title) in zip(axes, PANELS, strict=True):
            run = at.train(example, {"data.dataset": gate}, progress=False)
            accuracy = run.fit.history[-1]["train_accuracy"]
            surface = probability_of_one(run.network.cpu(), points).reshape(grid_x.shape)
            axis.contourf(grid_x, grid_y, surface, levels=20, cmap="RdBu_r", vmin=0, vmax=1)
            axis.contour(grid_x, grid_y, surface, levels=[0.5], colors="black", linewidths=1.5)
            labels = GATES[gate]
            for value, marker in ((0, "o"), (1, "s")):
                chosen = INPUTS[labels == value]
                axis.scatter(
                    chosen[:, 0],
                    chosen[:, 1],
                    marker=marker,
                    s=90,
                    c="white" if value == 0 else "black",
                    edgecolors="black",
                    label=f"class {value}",
                )
            axis.set_title(f"{title}\ntrain accuracy {accuracy:.2f}", fontsize=9)
            axis.set_xlabel("x1", fontsize=8)
            axis.set_ylabel("x2", fontsize=8)
            axis.set_aspect("equal")
            axis.tick_params(labelsize=7)
        axes[0].legend(fontsize=7, loc="center left")
    figure.tight_layout()
    path = IMAGES / "xor-decision-boundaries.png"
    figure.savefig(path, metadata={"Software": None})
    plt.close(figure)
    return path


if __name__ == "__main__":
    print(main())
