"""Dropout."""

from __future__ import annotations

from torch import nn

from athanor.nets.registry import NO_CONTEXT, BuildContext, BuiltBlock, Shape, block_builder
from athanor.spec.layers import DropoutSpec


@block_builder("dropout")
def build_dropout(
    spec: DropoutSpec, in_shape: Shape, context: BuildContext = NO_CONTEXT
) -> BuiltBlock:
    """Zeroes a fraction of the values while training and scales the rest by 1/(1-rate)."""
    return BuiltBlock(nn.Dropout(spec.rate), in_shape)
