"""Every activation with its derivative, and how gradients fade through a deep MLP.

Both are computed, not drawn: the curves are the modules that :mod:`athanor.nets` trains
with, differentiated by autograd (so ``step`` and ``sign`` show the straight-through
gradient training really uses), and the gradient norms come from one backward pass over a
real batch of the playground's spiral.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from athanor.errors import UserError
from athanor.lab.playground import PlaygroundSettings, features_of, make_points
from athanor.nets.activations import build_activation
from athanor.spec.activations import ACTIVATIONS, ActivationSpec

CURVE_POINTS = 241
CURVE_RANGE = 6.0
MAX_DEPTH = 20
MAX_WIDTH = 64
BATCH = 256

NOTES: dict[str, str] = {
    "maxout": "maxout of the two pieces x and -0.5x",
    "softmax": "the first output of softmax([x, 0])",
}
"""How the activations that act across features are drawn as a function of one number."""


def _apply(name: str, x: torch.Tensor) -> torch.Tensor:
    if name == "maxout":
        pieces = torch.stack([x, -0.5 * x], dim=1)  # [N, 2]: one unit of two pieces
        return build_activation(ActivationSpec(type="maxout", pieces=2))(pieces).squeeze(1)
    if name == "softmax":
        pair = torch.stack([x, torch.zeros_like(x)], dim=1)
        return build_activation(ActivationSpec(type="softmax"))(pair)[:, 0]
    return build_activation(ActivationSpec(type=name))(x)


def activation_curves() -> list[dict[str, Any]]:
    """Each activation on [-6, 6]: ``name``, ``formula``, ``note``, ``x``, ``y`` and ``dy``
    (the derivative by autograd)."""
    x = torch.linspace(-CURVE_RANGE, CURVE_RANGE, CURVE_POINTS, requires_grad=True)
    curves = []
    for name, formula in ACTIVATIONS.items():
        y = _apply(name, x)
        (dy,) = torch.autograd.grad(y.sum(), x)
        curves.append(
            {
                "name": name,
                "formula": formula,
                "note": NOTES.get(name, ""),
                "x": [round(v, 4) for v in x.detach().tolist()],
                "y": [round(v, 5) for v in y.detach().tolist()],
                "dy": [round(v, 5) for v in dy.tolist()],
            }
        )
    return curves


def gradient_norms(
    activations: list[str], depth: int = 10, width: int = 32, seed: int = 0
) -> list[dict[str, Any]]:
    """The gradient norm of each layer's weights of a deep MLP, one MLP per activation.

    Every MLP has ``depth`` dense layers of ``width`` units (PyTorch's default
    initialization from ``seed``, the same for every activation) and a logit; one backward
    pass of the binary cross-entropy over a batch of 256 spiral points measures
    ``‖∂loss/∂W‖`` of each layer, input first.

    Returns:
        One entry per activation: ``activation``, ``norms`` (per layer, input first) and
        ``ratio`` (the first layer's norm over the last hidden layer's).

    Raises:
        UserError: an unknown activation, or ``depth``/``width`` out of range.
    """
    if not 2 <= depth <= MAX_DEPTH:
        raise UserError(f"depth: {depth}; valid: 2 to {MAX_DEPTH}")
    if not 2 <= width <= MAX_WIDTH:
        raise UserError(f"width: {width}; valid: 2 to {MAX_WIDTH}")
    if not 1 <= len(activations) <= 4:
        raise UserError(f"activations: {len(activations)} given; valid: 1 to 4")
    for name in activations:
        if name not in ACTIVATIONS or name in ("maxout", "softmax"):
            valid = ", ".join(n for n in ACTIVATIONS if n not in ("maxout", "softmax"))
            raise UserError(f"activations: {name!r} is not one of {valid}")
    settings = PlaygroundSettings(dataset="spiral", samples=BATCH, seed=seed)
    points, labels = make_points(settings)
    inputs = features_of(settings, points)
    found = []
    for name in activations:
        torch.manual_seed(seed)  # the same weights for every activation
        layers: list[nn.Module] = []
        size = inputs.shape[1]
        for _ in range(depth):
            layers += [nn.Linear(size, width), build_activation(ActivationSpec(type=name))]
            size = width
        net = nn.Sequential(*layers, nn.Linear(size, 1))
        loss = nn.functional.binary_cross_entropy_with_logits(
            net(inputs).squeeze(1), labels.float()
        )
        loss.backward()
        norms = [float(layer.weight.grad.norm()) for layer in net if isinstance(layer, nn.Linear)]
        hidden = norms[:-1]
        found.append(
            {
                "activation": name,
                "loss": float(loss.detach()),
                "norms": hidden,
                "ratio": hidden[0] / hidden[-1] if hidden[-1] else None,
            }
        )
    return found
