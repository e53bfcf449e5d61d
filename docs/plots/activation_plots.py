"""Draw every activation of Athanor and its derivative into docs/images/activation_<name>.png.

The curves come from the real modules (``athanor.nets.activations.build_activation``) and the
derivatives from autograd, so step and sign show the straight-through gradient they train
with. Run from the repository root after ``pip install -e ".[docs]"``:

    python docs/plots/activation_plots.py
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window

import matplotlib.pyplot as plt
import torch
from pydantic import TypeAdapter

from athanor.nets.activations import build_activation
from athanor.spec.activations import ACTIVATIONS, Activation

IMAGES = Path(__file__).resolve().parents[1] / "images"
NOTES = {
    "step": "backward: straight-through, 1 where |x| <= 1",
    "sign": "backward: straight-through, 1 where |x| <= 1",
    "maxout": "2 pieces: max(x, 0.5 - 0.5x) (learned in practice)",
    "softmax": "first of two outputs, inputs (x, 0)",
    "leaky_relu": "alpha = 0.1 (default 0.01) to make the slope visible",
    "elu": "alpha = 1",
}


def curve(name: str, x: torch.Tensor) -> torch.Tensor:
    """The activation's output along ``x`` (one value per point)."""
    written: object = {"leaky_relu": {"alpha": 0.1}} if name == "leaky_relu" else name
    module = build_activation(TypeAdapter(Activation).validate_python(written))
    if name == "maxout":
        pieces = torch.stack([x, 0.5 - 0.5 * x], dim=1)  # [N, 2]: one unit with two pieces
        return module(pieces).squeeze(1)
    if name == "softmax":
        return module(torch.stack([x, torch.zeros_like(x)], dim=1))[:, 0]
    return module(x)


def draw(name: str) -> Path:
    x = torch.linspace(-4, 4, 801, requires_grad=True)
    y = curve(name, x)
    (slope,) = torch.autograd.grad(y.sum(), x)
    figure, axis = plt.subplots(figsize=(4.2, 2.8), dpi=80)
    axis.axhline(0, color="0.8", linewidth=0.8)
    axis.axvline(0, color="0.8", linewidth=0.8)
    axis.plot(x.detach(), y.detach(), label=f"{name}(x)", linewidth=2)
    axis.plot(x.detach(), slope, label="derivative", linewidth=1.5, linestyle="--")
    axis.set_title(f"{name}: {ACTIVATIONS[name]}", fontsize=8)
    axis.set_xlabel(NOTES.get(name, "x"), fontsize=7)
    axis.tick_params(labelsize=7)
    axis.legend(fontsize=7, loc="upper left")
    figure.tight_layout()
    path = IMAGES / f"activation_{name}.png"
    figure.savefig(path, metadata={"Software": None})
    plt.close(figure)
    return path


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    for name in ACTIVATIONS:
        print(draw(name))


if __name__ == "__main__":
    main()
