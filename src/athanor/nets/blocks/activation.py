"""Activations as layers of their own, e.g. ``- activation: tanh``."""

from __future__ import annotations

from athanor.nets.activations import build_activation
from athanor.nets.registry import (
    NO_CONTEXT,
    BuildContext,
    BuiltBlock,
    Shape,
    ShapeMismatch,
    block_builder,
)
from athanor.spec.layers import ActivationLayerSpec


@block_builder("activation")
def build_activation_layer(
    spec: ActivationLayerSpec, in_shape: Shape, context: BuildContext = NO_CONTEXT
) -> BuiltBlock:
    """The activation over dimension 0 of the sample (softmax and maxout act along it)."""
    if spec.function.type == "maxout":
        pieces = spec.function.pieces or 2
        if in_shape[0] % pieces:
            raise ShapeMismatch(
                f"maxout with {pieces} pieces needs a multiple of {pieces} features"
            )
        return BuiltBlock(build_activation(spec.function), (in_shape[0] // pieces, *in_shape[1:]))
    return BuiltBlock(build_activation(spec.function), in_shape)
