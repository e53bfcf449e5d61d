"""Batch and layer normalization."""

from __future__ import annotations

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
from athanor.spec.layers import BatchNormSpec, LayerNormSpec


@block_builder("batchnorm")
def build_batchnorm(
    spec: BatchNormSpec, in_shape: Shape, context: BuildContext = NO_CONTEXT
) -> BuiltBlock:
    """Normalizes features ([F]), channels of sequences ([C, L]) or of images ([C, H, W])."""
    if len(in_shape) not in (1, 2, 3):
        raise ShapeMismatch(
            f"expects [features], [channels, length] or images, gets {describe(in_shape)}"
        )
    norm = nn.BatchNorm2d if len(in_shape) == 3 else nn.BatchNorm1d
    return BuiltBlock(norm(in_shape[0], eps=spec.eps, momentum=spec.momentum), in_shape)


@block_builder("layernorm")
def build_layernorm(
    spec: LayerNormSpec, in_shape: Shape, context: BuildContext = NO_CONTEXT
) -> BuiltBlock:
    """Normalizes each sample over its last ``dims`` dimensions."""
    if spec.dims > len(in_shape):
        raise ShapeMismatch(
            f"normalizes the last {spec.dims} dimensions, gets {describe(in_shape)} "
            f"with {len(in_shape)}"
        )
    normalized = list(in_shape[len(in_shape) - spec.dims :])
    module = nn.LayerNorm(normalized, eps=spec.eps, elementwise_affine=spec.affine)
    return BuiltBlock(module, in_shape)
