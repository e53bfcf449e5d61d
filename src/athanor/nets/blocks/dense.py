"""Fully connected layers."""

from __future__ import annotations

from torch import nn

from athanor.nets.blocks._activated import widen, with_tail
from athanor.nets.registry import (
    NO_CONTEXT,
    BuildContext,
    BuiltBlock,
    Shape,
    ShapeMismatch,
    block_builder,
    describe,
)
from athanor.spec.layers import DenseSpec


@block_builder("dense")
def build_dense(spec: DenseSpec, in_shape: Shape, context: BuildContext = NO_CONTEXT) -> BuiltBlock:
    """Dense over flat features ``[F]`` or per step of a sequence ``[T, F]``."""
    if len(in_shape) not in (1, 2):
        raise ShapeMismatch(
            f"expects flat features [features] (or [steps, features]), gets {describe(in_shape)}"
            "; add '- flatten' before it"
        )
    features = in_shape[-1]
    if spec.inputs is not None and spec.inputs != features:
        raise ShapeMismatch(f"expects {spec.inputs} inputs, gets {features}")
    if spec.batchnorm and len(in_shape) == 2:
        raise ShapeMismatch(
            "batchnorm on a sequence of features is not supported; use '- layernorm' after it"
        )
    core = nn.Linear(features, spec.units * widen(spec), bias=spec.bias)
    module = with_tail("linear", core, spec, dims=0, context=context)
    return BuiltBlock(module, (*in_shape[:-1], spec.units))
