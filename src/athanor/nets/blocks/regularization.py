"""Dropout, batch normalization and stand-alone activations."""

from __future__ import annotations

from torch import nn

from athanor.nets.activations import build_activation
from athanor.nets.registry import BuiltBlock, Shape, ShapeMismatch, block_builder, describe
from athanor.spec.layers import ActivationLayerSpec, BatchNormSpec, DropoutSpec


@block_builder("dropout")
def build_dropout(spec: DropoutSpec, in_shape: Shape) -> BuiltBlock:
    return BuiltBlock(nn.Dropout(spec.rate), in_shape)


@block_builder("batchnorm")
def build_batchnorm(spec: BatchNormSpec, in_shape: Shape) -> BuiltBlock:
    """Normalizes features ([F]), channels of sequences ([C, L]) or of images ([C, H, W])."""
    if len(in_shape) not in (1, 2, 3):
        raise ShapeMismatch(
            f"expects [features], [channels, length] or images, gets {describe(in_shape)}"
        )
    norm = nn.BatchNorm2d if len(in_shape) == 3 else nn.BatchNorm1d
    return BuiltBlock(norm(in_shape[0], eps=spec.eps, momentum=spec.momentum), in_shape)


@block_builder("activation")
def build_activation_layer(spec: ActivationLayerSpec, in_shape: Shape) -> BuiltBlock:
    if spec.function.type == "maxout":
        pieces = spec.function.pieces or 2
        if in_shape[0] % pieces:
            raise ShapeMismatch(
                f"maxout with {pieces} pieces needs a multiple of {pieces} features"
            )
        return BuiltBlock(build_activation(spec.function), (in_shape[0] // pieces, *in_shape[1:]))
    return BuiltBlock(build_activation(spec.function), in_shape)
