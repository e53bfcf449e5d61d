"""Pooling over sequences ([C, L]) or images ([C, H, W]): max, average, global, stochastic."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from athanor.nets.blocks.conv import conv_length
from athanor.nets.registry import (
    NO_CONTEXT,
    BuildContext,
    BuiltBlock,
    Shape,
    ShapeMismatch,
    block_builder,
    describe,
)
from athanor.spec.layers import (
    AvgPoolSpec,
    GlobalAvgPoolSpec,
    GlobalMaxPoolSpec,
    MaxPoolSpec,
    StochasticPoolSpec,
)

_PoolSpec = MaxPoolSpec | AvgPoolSpec | StochasticPoolSpec


class GlobalPool(nn.Module):
    """Mean or maximum of each channel over all its positions: [B, C, ...] -> [B, C]."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(2)
        return flat.mean(dim=2) if self.mode == "avg" else flat.amax(dim=2)

    def extra_repr(self) -> str:
        return f"mode={self.mode}"


class StochasticPool(nn.Module):
    """Stochastic pooling (Zeiler & Fergus, 2013) over 1-D or 2-D windows.

    In each window the probabilities are the non-negative parts of the values normalized to
    sum 1 (uniform where all are <= 0). Training samples one value per window with these
    probabilities (the gradient flows to the chosen value); evaluation returns the
    probability-weighted average.
    """

    def __init__(self, size: tuple[int, ...], stride: tuple[int, ...], padding: tuple[int, ...]):
        super().__init__()
        self.size, self.stride, self.padding = size, stride, padding

    def _windows(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, ...]]:
        """Values of every window: [B, C, positions, window] and the output's spatial shape."""
        batch, channels = x.shape[:2]
        if len(self.size) == 1:
            x = F.pad(x, (self.padding[0], self.padding[0]))
            windows = x.unfold(2, self.size[0], self.stride[0])  # B, C, L', k
            return windows, tuple(windows.shape[2:3])
        pad_h, pad_w = self.padding
        x = F.pad(x, (pad_w, pad_w, pad_h, pad_h))
        windows = x.unfold(2, self.size[0], self.stride[0]).unfold(3, self.size[1], self.stride[1])
        spatial = tuple(windows.shape[2:4])
        return windows.reshape(batch, channels, -1, self.size[0] * self.size[1]), spatial

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        windows, spatial = self._windows(x)
        weights = windows.clamp(min=0)
        total = weights.sum(dim=-1, keepdim=True)
        uniform = torch.full_like(weights, 1.0 / weights.shape[-1])
        probabilities = torch.where(total > 0, weights / total.clamp(min=1e-12), uniform)
        if self.training:
            flat = probabilities.reshape(-1, probabilities.shape[-1])
            chosen = torch.multinomial(flat, 1).view(*probabilities.shape[:-1], 1)
            pooled = windows.gather(-1, chosen).squeeze(-1)
        else:
            pooled = (probabilities * windows).sum(dim=-1)
        return pooled.reshape(*x.shape[:2], *spatial)

    def extra_repr(self) -> str:
        return f"size={self.size}, stride={self.stride}, padding={self.padding}"


def _pool_geometry(
    spec: _PoolSpec, in_shape: Shape
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], Shape]:
    """Window, stride, padding per spatial dimension and the output shape."""
    dims = len(in_shape) - 1
    if dims not in (1, 2):
        raise ShapeMismatch(
            f"expects [channels, length] or [channels, height, width], gets {describe(in_shape)}"
        )

    def per_dim(value: int | tuple[int, int]) -> tuple[int, ...]:
        if isinstance(value, int):
            return (value,) * dims
        if dims == 1:
            raise ShapeMismatch(f"a sequence takes one number, not {list(value)}")
        return tuple(int(v) for v in value)

    size = per_dim(spec.size)
    stride = per_dim(spec.stride) if spec.stride is not None else size
    padding = per_dim(spec.padding)
    if any(2 * p > k for p, k in zip(padding, size, strict=True)):
        raise ShapeMismatch(f"padding {list(padding)} may be at most half the window {list(size)}")
    out = tuple(
        conv_length(length, size[i], stride[i], padding[i], padding[i], 1)
        for i, length in enumerate(in_shape[1:])
    )
    if min(out) < 1:
        raise ShapeMismatch(f"window {list(size)} is larger than the input {describe(in_shape)}")
    return size, stride, padding, (in_shape[0], *out)


def _build_pool(spec: MaxPoolSpec | AvgPoolSpec, in_shape: Shape, kind: str) -> BuiltBlock:
    size, stride, padding, out_shape = _pool_geometry(spec, in_shape)
    dims = len(size)
    classes = {
        ("max", 1): nn.MaxPool1d,
        ("max", 2): nn.MaxPool2d,
        ("avg", 1): nn.AvgPool1d,
        ("avg", 2): nn.AvgPool2d,
    }
    module_class = classes[(kind, dims)]
    unpack = (lambda t: t[0]) if dims == 1 else (lambda t: t)
    module = module_class(unpack(size), stride=unpack(stride), padding=unpack(padding))
    return BuiltBlock(module, out_shape)


@block_builder("maxpool")
def build_maxpool(
    spec: MaxPoolSpec, in_shape: Shape, context: BuildContext = NO_CONTEXT
) -> BuiltBlock:
    """The maximum of each window."""
    return _build_pool(spec, in_shape, "max")


@block_builder("avgpool")
def build_avgpool(
    spec: AvgPoolSpec, in_shape: Shape, context: BuildContext = NO_CONTEXT
) -> BuiltBlock:
    """The mean of each window (padding counts as zeros)."""
    return _build_pool(spec, in_shape, "avg")


@block_builder("stochasticpool")
def build_stochasticpool(
    spec: StochasticPoolSpec, in_shape: Shape, context: BuildContext = NO_CONTEXT
) -> BuiltBlock:
    """A value drawn from each window while training, the weighted mean when evaluating."""
    size, stride, padding, out_shape = _pool_geometry(spec, in_shape)
    return BuiltBlock(StochasticPool(size, stride, padding), out_shape)


def _build_global(in_shape: Shape, mode: str) -> BuiltBlock:
    if len(in_shape) not in (2, 3):
        raise ShapeMismatch(
            f"expects [channels, length] or [channels, height, width], gets {describe(in_shape)}"
        )
    return BuiltBlock(GlobalPool(mode), (in_shape[0],))


@block_builder("globalavgpool")
def build_globalavgpool(
    spec: GlobalAvgPoolSpec, in_shape: Shape, context: BuildContext = NO_CONTEXT
) -> BuiltBlock:
    """The mean of each channel: [C, ...] -> [C]."""
    return _build_global(in_shape, "avg")


@block_builder("globalmaxpool")
def build_globalmaxpool(
    spec: GlobalMaxPoolSpec, in_shape: Shape, context: BuildContext = NO_CONTEXT
) -> BuiltBlock:
    """The maximum of each channel: [C, ...] -> [C]."""
    return _build_global(in_shape, "max")
