"""Activation modules for every name in :data:`athanor.spec.activations.ACTIVATIONS`."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from athanor.spec.activations import ACTIVATIONS, ActivationSpec


class _StraightThrough(torch.autograd.Function):
    """Forward a hard function, backward the identity (clipped to |x| <= 1, as in BinaryNet)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, kind: str) -> torch.Tensor:
        ctx.save_for_backward(x)
        if kind == "step":
            return (x > 0).to(x.dtype)
        return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (x,) = ctx.saved_tensors
        return grad * (x.abs() <= 1).to(grad.dtype), None


class Step(nn.Module):
    """Heaviside step ``1[x > 0]`` with a straight-through gradient."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _StraightThrough.apply(x, "step")


class Sign(nn.Module):
    """``sign(x)`` in {-1, 1} with a straight-through gradient."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _StraightThrough.apply(x, "sign")


class Maxout(nn.Module):
    """Max over ``pieces`` groups of features (Goodfellow et al., 2013).

    The layer before it produces ``units * pieces`` features (dimension 1); the output has
    ``units``.
    """

    def __init__(self, pieces: int) -> None:
        super().__init__()
        self.pieces = pieces

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        units = x.shape[1] // self.pieces
        return x.view(x.shape[0], units, self.pieces, *x.shape[2:]).amax(dim=2)

    def extra_repr(self) -> str:
        return f"pieces={self.pieces}"


_FACTORIES: dict[str, Callable[[ActivationSpec], nn.Module]] = {
    "linear": lambda s: nn.Identity(),
    "step": lambda s: Step(),
    "sign": lambda s: Sign(),
    "sigmoid": lambda s: nn.Sigmoid(),
    "tanh": lambda s: nn.Tanh(),
    "relu": lambda s: nn.ReLU(),
    "leaky_relu": lambda s: nn.LeakyReLU(s.alpha if s.alpha is not None else 0.01),
    "elu": lambda s: nn.ELU(s.alpha if s.alpha is not None else 1.0),
    "selu": lambda s: nn.SELU(),
    "gelu": lambda s: nn.GELU(),
    "swish": lambda s: nn.SiLU(),
    "silu": lambda s: nn.SiLU(),
    "mish": lambda s: nn.Mish(),
    "maxout": lambda s: Maxout(s.pieces or 2),
    "softmax": lambda s: nn.Softmax(dim=1),
}
assert set(_FACTORIES) == set(ACTIVATIONS), "every activation spec needs a module"


def build_activation(spec: ActivationSpec) -> nn.Module:
    """The module computing activation ``spec``."""
    return _FACTORIES[spec.type](spec)
