"""The block registry: layer type name -> builder that makes the module and infers shapes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from athanor.spec.layers import LayerSpec

Shape = tuple[int, ...]
"""A sample's shape without the batch dimension."""


class ShapeMismatch(Exception):
    """Raised by a builder; the network builder adds which layer it is."""


@dataclass
class BuiltBlock:
    module: nn.Module
    out_shape: Shape


BlockBuilder = Callable[[LayerSpec, Shape], BuiltBlock]
BLOCK_BUILDERS: dict[str, BlockBuilder] = {}


def block_builder(name: str) -> Callable[[BlockBuilder], BlockBuilder]:
    """Register the builder of layer type ``name``."""

    def register(builder: BlockBuilder) -> BlockBuilder:
        if name in BLOCK_BUILDERS:
            raise ValueError(f"block {name!r} registered twice")
        BLOCK_BUILDERS[name] = builder
        return builder

    return register


def describe(shape: Shape) -> str:
    return "[" + ", ".join(map(str, shape)) + "]"
