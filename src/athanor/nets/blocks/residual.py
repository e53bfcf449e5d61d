"""Residual blocks (He et al., 2016) over images, sequences and flat features."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import torch
from torch import nn

from athanor.nets.activations import build_activation
from athanor.nets.blocks._activated import chosen_init
from athanor.nets.blocks.conv import conv_length
from athanor.nets.initializers import initialize
from athanor.nets.registry import (
    NO_CONTEXT,
    BuildContext,
    BuiltBlock,
    Shape,
    ShapeMismatch,
    block_builder,
    describe,
)
from athanor.spec.layers import ResidualSpec


class ResidualBlock(nn.Module):
    """``activation(body(x) + shortcut(x))``."""

    def __init__(self, body: nn.Sequential, shortcut: nn.Module, activation: nn.Module) -> None:
        super().__init__()
        self.body = body
        self.shortcut = shortcut
        self.act = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


# (in, out, kernel, stride, bias) -> the learned transform of one dimensionality.
_Transform = Callable[[int, int, int, int, bool], nn.Module]
_TRANSFORMS: dict[int, tuple[_Transform, type[nn.Module]]] = {
    0: (lambda i, o, k, s, b: nn.Linear(i, o, bias=b), nn.BatchNorm1d),
    1: (lambda i, o, k, s, b: nn.Conv1d(i, o, k, stride=s, padding=k // 2, bias=b), nn.BatchNorm1d),
    2: (lambda i, o, k, s, b: nn.Conv2d(i, o, k, stride=s, padding=k // 2, bias=b), nn.BatchNorm2d),
}


@block_builder("residual")
def build_residual(
    spec: ResidualSpec, in_shape: Shape, context: BuildContext = NO_CONTEXT
) -> BuiltBlock:
    """Basic (two kxk) or bottleneck (1x1, kxk, 1x1) block with an identity or 1x1 shortcut."""
    dims = len(in_shape) - 1
    if dims not in _TRANSFORMS:
        raise ShapeMismatch(
            f"expects [features], [channels, length] or [channels, height, width], "
            f"gets {describe(in_shape)}"
        )
    if dims == 0 and spec.stride != 1:
        raise ShapeMismatch("flat features take stride 1 only")
    transform, norm = _TRANSFORMS[dims]
    channels = in_shape[0]
    bias = not spec.batchnorm  # a bias before batch norm is cancelled by its mean

    if spec.bottleneck:
        stages = [
            (channels, spec.filters, 1, 1),
            (spec.filters, spec.filters, spec.kernel, spec.stride),
            (spec.filters, spec.out_channels, 1, 1),
        ]
    else:
        stages = [
            (channels, spec.filters, spec.kernel, spec.stride),
            (spec.filters, spec.filters, spec.kernel, 1),
        ]
    parts: OrderedDict[str, nn.Module] = OrderedDict()
    for index, (inputs, outputs, kernel, stride) in enumerate(stages, start=1):
        parts[f"conv{index}"] = transform(inputs, outputs, kernel, stride, bias)
        if spec.batchnorm:
            parts[f"norm{index}"] = norm(outputs)
        if index < len(stages):
            parts[f"act{index}"] = build_activation(spec.activation)
            if spec.dropout > 0 and index == len(stages) - 1:
                parts["dropout"] = nn.Dropout(spec.dropout)
    body = nn.Sequential(parts)

    if spec.stride != 1 or channels != spec.out_channels:
        projection: OrderedDict[str, nn.Module] = OrderedDict(
            conv=transform(channels, spec.out_channels, 1, spec.stride, bias)
        )
        if spec.batchnorm:
            projection["norm"] = norm(spec.out_channels)
        shortcut: nn.Module = nn.Sequential(projection)
    else:
        shortcut = nn.Identity()
    block = ResidualBlock(body, shortcut, build_activation(spec.activation))
    initialize(block, chosen_init(spec, context), spec.activation)
    spatial = tuple(
        conv_length(size, spec.kernel, spec.stride, spec.kernel // 2, spec.kernel // 2, 1)
        for size in in_shape[1:]
    )
    return BuiltBlock(block, (spec.out_channels, *spatial))
