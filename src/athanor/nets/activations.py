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

    The layer before it produces ``units * pieces`` features along ``dim`` (1: channels or
    flat features, -1: the features of each step of a sequence); the output has ``units``.
    """

    def __init__(self, pieces: int, dim: int = 1) -> None:
        super().__init__()
        self.pieces = pieces
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dim = self.dim % x.dim()
        units = x.shape[dim] // self.pieces
        grouped = x.reshape(*x.shape[:dim], units, self.pieces, *x.shape[dim + 1 :])
        return grouped.amax(dim=dim + 1)

    def extra_repr(self) -> str:
        return f"pieces={self.pieces}, dim={self.dim}"


_FACTORIES: dict[str, Callable[[ActivationSpec, int], nn.Module]] = {
    "linear": lambda s, d: nn.Identity(),
    "step": lambda s, d: Step(),
    "sign": lambda s, d: Sign(),
    "sigmoid": lambda s, d: nn.Sigmoid(),
    "tanh": lambda s, d: nn.Tanh(),
    "relu": lambda s, d: nn.ReLU(),
    "leaky_relu": lambda s, d: nn.LeakyReLU(s.alpha if s.alpha is not None else 0.01),
    "elu": lambda s, d: nn.ELU(s.alpha if s.alpha is not None else 1.0),
    "selu": lambda s, d: nn.SELU(),
    "gelu": lambda s, d: nn.GELU(),
    "swish": lambda s, d: nn.SiLU(),
    "silu": lambda s, d: nn.SiLU(),
    "mish": lambda s, d: nn.Mish(),
    "maxout": lambda s, d: Maxout(s.pieces or 2, d),
    "softmax": lambda s, d: nn.Softmax(dim=d),
}
assert set(_FACTORIES) == set(ACTIVATIONS), "every activation spec needs a module"


def build_activation(spec: ActivationSpec, feature_dim: int = 1) -> nn.Module:
    """The module computing activation ``spec``.

    Args:
        spec: the activation and its parameters.
        feature_dim: the dimension softmax and maxout act along (default 1: channels or flat
            features; -1 for the features of each step of a sequence).
    """
    return _FACTORIES[spec.type](spec, feature_dim)
