"""Layers that only rearrange values."""

from __future__ import annotations

import math

from torch import nn

from athanor.nets.registry import BuiltBlock, Shape, block_builder
from athanor.spec.layers import FlattenSpec


@block_builder("flatten")
def build_flatten(spec: FlattenSpec, in_shape: Shape) -> BuiltBlock:
    return BuiltBlock(nn.Flatten(), (math.prod(in_shape),))
