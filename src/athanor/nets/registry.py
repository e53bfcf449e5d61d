"""The block registry: layer type name -> builder that makes the module and infers shapes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from athanor.spec.initializers import InitializerSpec

Shape = tuple[int, ...]
"""A sample's shape without the batch dimension."""


class ShapeMismatch(Exception):
    """Raised by a builder; the network builder adds which layer it is."""


@dataclass
class BuiltBlock:
    module: nn.Module
    out_shape: Shape


@dataclass(frozen=True)
class BuildContext:
    """What a block may need beyond its spec and input shape.

    Attributes:
        init: the model-level initializer, used by layers without their own ``init``.
        vocab: the data's vocabulary size, used by embeddings without their own ``vocab``.
    """

    init: InitializerSpec | None = None
    vocab: int | None = None


NO_CONTEXT = BuildContext()

BlockBuilder = Callable[..., BuiltBlock]
"""``builder(spec, in_shape, context=NO_CONTEXT) -> BuiltBlock``."""
BLOCK_BUILDERS: dict[str, BlockBuilder] = {}
TOKEN_BLOCKS: set[str] = set()
"""Layer types that take integer token ids as input (the others need float features)."""


def block_builder(
    name: str, *, accepts_tokens: bool = False
) -> Callable[[BlockBuilder], BlockBuilder]:
    """Register the builder of layer type ``name``.

    Args:
        name: the layer type, as registered with :func:`athanor.spec.layers.layer_spec`.
        accepts_tokens: whether the layer takes int64 token ids (embeddings do).
    """

    def register(builder: BlockBuilder) -> BlockBuilder:
        if name in BLOCK_BUILDERS:
            raise ValueError(f"block {name!r} registered twice")
        BLOCK_BUILDERS[name] = builder
        if accepts_tokens:
            TOKEN_BLOCKS.add(name)
        return builder

    return register


def describe(shape: Shape) -> str:
    return "[" + ", ".join(map(str, shape)) + "]"
