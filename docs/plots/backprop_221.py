"""Work one step of back-propagation through a 2-2-1 network, check it against
torch.autograd, and draw it into docs/images/backprop-221.png.

The network of docs/learn/backprop.md: inputs x1, x2; two sigmoid hidden units; one sigmoid
output; loss (y - t)^2 / 2. Every forward value and every gradient is computed by hand
with the chain rule (plain Python floats), then compared with what PyTorch's autograd
computes for the same network; the script exits with an error if any differs by more than
1e-9. Run from the repository root (a second on a CPU):

    python docs/plots/backprop_221.py
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

IMAGES = Path(__file__).resolve().parents[1] / "images"
X = (1.0, 0.0)
TARGET = 1.0
W1 = ((0.5, -0.4), (0.3, 0.8))  # W1[j][i]: input i -> hidden unit j
B1 = (0.1, -0.2)
W2 = (0.7, -0.6)  # hidden unit j -> output
B2 = 0.05
LR = 0.5


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def by_hand() -> dict[str, float]:
    """Forward and backward pass with the chain rule, one number at a time."""
    v: dict[str, float] = {}
    for j in range(2):
        v[f"z{j + 1}"] = W1[j][0] * X[0] + W1[j][1] * X[1] + B1[j]
        v[f"h{j + 1}"] = sigmoid(v[f"z{j + 1}"])
    v["z3"] = W2[0] * v["h1"] + W2[1] * v["h2"] + B2
    v["y"] = sigmoid(v["z3"])
    v["loss"] = (v["y"] - TARGET) ** 2 / 2
    v["dL/dy"] = v["y"] - TARGET
    v["dL/dz3"] = v["dL/dy"] * v["y"] * (1 - v["y"])  # sigmoid' = y (1 - y)
    for j in range(2):
        v[f"dL/dv{j + 1}"] = v["dL/dz3"] * v[f"h{j + 1}"]  # v1, v2: the output weights
    v["dL/dc"] = v["dL/dz3"]  # c: the output bias
    for j in range(2):
        h = v[f"h{j + 1}"]
        v[f"dL/dh{j + 1}"] = v["dL/dz3"] * W2[j]
        v[f"dL/dz{j + 1}"] = v[f"dL/dh{j + 1}"] * h * (1 - h)
        for i in range(2):
            v[f"dL/dw{j + 1}{i + 1}"] = v[f"dL/dz{j + 1}"] * X[i]
        v[f"dL/db{j + 1}"] = v[f"dL/dz{j + 1}"]
    return v


def by_autograd() -> dict[str, float]:
    """The same network in PyTorch; autograd does the backward pass."""
    import torch

    x = torch.tensor(X, dtype=torch.float64)
    w1 = torch.tensor(W1, dtype=torch.float64, requires_grad=True)
    b1 = torch.tensor(B1, dtype=torch.float64, requires_grad=True)
    w2 = torch.tensor(W2, dtype=torch.float64, requires_grad=True)
    b2 = torch.tensor(B2, dtype=torch.float64, requires_grad=True)
    y = torch.sigmoid(w2 @ torch.sigmoid(w1 @ x + b1) + b2)
    loss = (y - TARGET) ** 2 / 2
    loss.backward()
    grads = {"loss": loss.item(), "dL/dc": b2.grad.item()}
    for j in range(2):
        grads[f"dL/dv{j + 1}"] = w2.grad[j].item()
        grads[f"dL/db{j + 1}"] = b1.grad[j].item()
        for i in range(2):
            grads[f"dL/dw{j + 1}{i + 1}"] = w1.grad[j, i].item()
    return grads


def after_step(v: dict[str, float]) -> float:
    """The loss after one gradient-descent step of every weight at rate LR."""
    w1 = [[W1[j][i] - LR * v[f"dL/dw{j + 1}{i + 1}"] for i in range(2)] for j in range(2)]
    b1 = [B1[j] - LR * v[f"dL/db{j + 1}"] for j in range(2)]
    w2 = [W2[j] - LR * v[f"dL/dv{j + 1}"] for j in range(2)]
    b2 = B2 - LR * v["dL/dc"]
    h = [sigmoid(w1[j][0] * X[0] + w1[j][1] * X[1] + b1[j]) for j in range(2)]
    y = sigmoid(w2[0] * h[0] + w2[1] * h[1] + b2)
    return (y - TARGET) ** 2 / 2


def draw(v: dict[str, float]) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # files only, no window
    import matplotlib.pyplot as plt

    nodes = {"x1": (0, 1.6), "x2": (0, 0.4), "h1": (2, 1.6), "h2": (2, 0.4), "y": (4, 1.0)}
    labels = {
        "x1": f"x1 = {X[0]:g}",
        "x2": f"x2 = {X[1]:g}",
        "h1": f"z1 = {v['z1']:.4f}\nh1 = {v['h1']:.4f}\n∂L/∂z1 = {v['dL/dz1']:.4f}",
        "h2": f"z2 = {v['z2']:.4f}\nh2 = {v['h2']:.4f}\n∂L/∂z2 = {v['dL/dz2']:.4f}",
        "y": f"z3 = {v['z3']:.4f}\ny = {v['y']:.4f}\n∂L/∂z3 = {v['dL/dz3']:.4f}",
    }
    edges = [
        ("x1", "h1", f"w11 {W1[0][0]:g}\n∂ {v['dL/dw11']:.4f}"),
        ("x2", "h1", f"w12 {W1[0][1]:g}\n∂ {v['dL/dw12']:.4f}"),
        ("x1", "h2", f"w21 {W1[1][0]:g}\n∂ {v['dL/dw21']:.4f}"),
        ("x2", "h2", f"w22 {W1[1][1]:g}\n∂ {v['dL/dw22']:.4f}"),
        ("h1", "y", f"v1 {W2[0]:g}\n∂ {v['dL/dv1']:.4f}"),
        ("h2", "y", f"v2 {W2[1]:g}\n∂ {v['dL/dv2']:.4f}"),
    ]
    figure, axis = plt.subplots(figsize=(9.0, 4.2))
    for start, end, text in edges:
        (x0, y0), (x1, y1) = nodes[start], nodes[end]
        axis.plot([x0, x1], [y0, y1], color="0.6", zorder=1)
        axis.text(
            x0 + 0.3 * (x1 - x0),
            y0 + 0.3 * (y1 - y0) + 0.05,
            text,
            fontsize=7,
            ha="center",
            color="tab:blue",
        )
    for name, (x, y) in nodes.items():
        axis.scatter([x], [y], s=900, color="white", edgecolor="black", zorder=2)
        axis.text(x, y, name, ha="center", va="center", fontsize=9, zorder=3)
        axis.text(x, y - 0.28, labels[name], ha="center", va="top", fontsize=7)
    axis.text(
        4.0, 1.75, f"t = {TARGET:g}\nL = (y − t)²/2 = {v['loss']:.4f}", ha="center", fontsize=8
    )
    axis.set_xlim(-0.6, 4.8)
    axis.set_ylim(-0.6, 2.2)
    axis.axis("off")
    axis.set_title(
        "2-2-1 sigmoid network: forward values (black) and gradients ∂L/∂w (blue)", fontsize=9
    )
    figure.tight_layout()
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / "backprop-221.png"
    figure.savefig(path, dpi=80)
    return path


def main() -> int:
    hand = by_hand()
    auto = by_autograd()
    worst = max(abs(hand[key] - auto[key]) for key in auto)
    for key, value in hand.items():
        check = f"  autograd {auto[key]:+.6f}" if key in auto else ""
        print(f"{key:8s} {value:+.6f}{check}")
    print(f"loss after one step at learning rate {LR}: {after_step(hand):.6f}")
    print(f"largest difference from autograd: {worst:.2e}")
    if worst > 1e-9:
        print("the hand-made gradients differ from autograd", file=sys.stderr)
        return 1
    if "--no-figure" not in sys.argv:
        print(draw(hand))
    return 0


if __name__ == "__main__":
    sys.exit(main())
