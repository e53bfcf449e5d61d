"""Layers that only rearrange values: flatten, reshape, permute, repeat."""

from __future__ import annotations

import math

import torch
from torch import nn

from athanor.nets.registry import (
    NO_CONTEXT,
    BuildContext,
    BuiltBlock,
    Shape,
    ShapeMismatch,
    block_builder,
    describe,
)
from athanor.spec.layers import FlattenSpec, PermuteSpec, RepeatSpec, ReshapeSpec


class Reshape(nn.Module):
    """Gives each sample of a batch the shape ``shape``."""

    def __init__(self, shape: Shape) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return f"shape={list(self.shape)}"


class Permute(nn.Module):
    """Reorders the dimensions of each sample (the batch dimension stays first)."""

    def __init__(self, order: list[int]) -> None:
        super().__init__()
        self.order = tuple(order)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, *(d + 1 for d in self.order))

    def extra_repr(self) -> str:
        return f"order={list(self.order)}"


class Repeat(nn.Module):
    """[B, F] -> [B, times, F]: the same vector at every step."""

    def __init__(self, times: int) -> None:
        super().__init__()
        self.times = times

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(1).expand(x.shape[0], self.times, *x.shape[1:])

    def extra_repr(self) -> str:
        return f"times={self.times}"


@block_builder("flatten")
def build_flatten(
    spec: FlattenSpec, in_shape: Shape, context: BuildContext = NO_CONTEXT
) -> BuiltBlock:
    """Every dimension but the batch into one."""
    return BuiltBlock(nn.Flatten(), (math.prod(in_shape),))


@block_builder("reshape")
def build_reshape(
    spec: ReshapeSpec, in_shape: Shape, context: BuildContext = NO_CONTEXT
) -> BuiltBlock:
    """The same values in a new shape; ``-1`` takes what is left."""
    total = math.prod(in_shape)
    known = math.prod(size for size in spec.shape if size != -1)
    if -1 in spec.shape:
        if total % known:
            raise ShapeMismatch(
                f"cannot reshape {describe(in_shape)} ({total} values) to {spec.shape}: "
                f"{total} is not a multiple of {known}"
            )
        shape = tuple(total // known if size == -1 else size for size in spec.shape)
    else:
        shape = tuple(spec.shape)
    if math.prod(shape) != total:
        raise ShapeMismatch(
            f"cannot reshape {describe(in_shape)} ({total} values) to {describe(shape)} "
            f"({math.prod(shape)} values)"
        )
    return BuiltBlock(Reshape(shape), shape)


@block_builder("permute")
def build_permute(
    spec: PermuteSpec, in_shape: Shape, context: BuildContext = NO_CONTEXT
) -> BuiltBlock:
    """The sample's dimensions in the order ``order``."""
    if len(spec.order) != len(in_shape):
        raise ShapeMismatch(
            f"order {spec.order} has {len(spec.order)} dimensions, gets {describe(in_shape)}"
        )
    return BuiltBlock(Permute(spec.order), tuple(in_shape[d] for d in spec.order))


@block_builder("repeat")
def build_repeat(
    spec: RepeatSpec, in_shape: Shape, context: BuildContext = NO_CONTEXT
) -> BuiltBlock:
    """A flat vector repeated as a sequence of ``times`` steps."""
    if len(in_shape) != 1:
        raise ShapeMismatch(f"expects flat features [features], gets {describe(in_shape)}")
    return BuiltBlock(Repeat(spec.times), (spec.times, in_shape[0]))
