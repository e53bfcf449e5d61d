"""Build a stack of layers into a :class:`Network`, inferring and checking every shape."""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
from torch import nn

from athanor.errors import ShapeError
from athanor.nets import blocks  # noqa: F401 - registers the block builders
from athanor.nets.network import Network
from athanor.nets.registry import (
    BLOCK_BUILDERS,
    TOKEN_BLOCKS,
    BuildContext,
    Shape,
    ShapeMismatch,
    describe,
)
from athanor.spec.layers import Conv2dSpec, DenseSpec, LayerSpec, ReshapeSpec


def _label(index: int, spec: LayerSpec, name: str, is_head: bool) -> str:
    if is_head:
        return f"the output layer ({spec.type})"
    named = f" '{name}'" if spec.name else ""
    return f"layer {index} ({spec.type}{named})"


def head_layers(shape: Shape, expected: Shape) -> list[LayerSpec]:
    """The output layer(s) mapping the body's ``shape`` to the task's ``expected`` shape.

    A dense layer for flat outputs and per step of sequences; a dense layer and a reshape
    from a flat vector to a sequence or image; a 1x1 convolution from feature maps to images.
    """
    if len(expected) > 1 and len(shape) == 1:
        return [
            DenseSpec(units=math.prod(expected), name="output"),
            ReshapeSpec(shape=list(expected), name="output_reshape"),
        ]
    if len(expected) == 3 and len(shape) == 3 and shape[1:] == expected[1:]:
        return [Conv2dSpec(filters=expected[0], kernel=1, name="output")]
    return [DenseSpec(units=expected[-1], name="output")]


def build_stack(
    layers: list[LayerSpec],
    input_shape: Shape,
    *,
    input_kind: str,
    context: BuildContext,
    expected: Shape | None = None,
    head: bool = False,
    expected_text: str = "",
    network_class: type[Network] = Network,
) -> Network:
    """Build ``layers`` for samples of ``input_shape``, checking every layer's input.

    Args:
        layers: the layers in order (not modified).
        input_shape: one sample's input shape.
        input_kind: the data's input kind (``tokens`` inputs must start with an embedding).
        context: model-level defaults (initializer, vocabulary).
        expected: the shape the network must end with, if any.
        head: append the output layer(s) mapping the last shape to ``expected``.
        expected_text: what ``expected`` means, for the error message (e.g. "10 classes").
        network_class: the :class:`Network` subclass to build.

    Raises:
        ShapeError: naming the layer whose input does not fit, what it expects and what the
            layer before it (or the data) gives.
    """
    shape: Shape = tuple(input_shape)
    source = f"the data ({input_kind} {describe(shape)})"
    tokens = input_kind == "tokens"
    modules: OrderedDict[str, nn.Module] = OrderedDict()
    specs: dict[str, LayerSpec] = {}
    shapes: dict[str, Shape] = {}
    pending = list(layers)
    body_size = len(pending)
    head_added = False
    if head and not pending and expected is not None:
        # No body at all (an mlp with ``hidden: []``): the output layer alone is the network,
        # a perceptron or a linear / logistic regression.
        pending = head_layers(shape, expected)
        head_added = True
    index = 0
    while pending:
        layer = pending.pop(0)
        index += 1
        name = layer.name or f"{layer.type}_{index}"
        label = _label(index, layer, name, is_head=index > body_size)
        if name in modules:
            raise ShapeError(f"{label}: the name '{name}' is already used by an earlier layer")
        accepts_tokens = layer.type in TOKEN_BLOCKS
        if tokens and not accepts_tokens:
            raise ShapeError(
                f"{label}: expects float features, {source} gives token ids "
                f"{describe(shape)}; start with '- embedding: {{dim: 64}}'"
            )
        if accepts_tokens and not tokens:
            raise ShapeError(
                f"{label}: expects int64 token ids, {source} gives float values {describe(shape)}"
            )
        try:
            built = BLOCK_BUILDERS[layer.type](layer, shape, context)
        except ShapeMismatch as exc:
            raise ShapeError(f"{label}: {str(exc).replace('gets', source + ' gives', 1)}") from None
        modules[name] = built.module
        specs[name] = layer
        shapes[name] = built.out_shape
        shape = built.out_shape
        tokens = False
        source = label
        if head and not pending and not head_added and expected is not None:
            pending = head_layers(shape, expected)
            head_added = True

    if expected is not None and shape != expected:
        hint = (
            f"let the output layer be added (head: true) or end with '- dense: {expected[-1]}'"
            if not head
            else "change the last layers so that the output layer can map them"
        )
        what = f" ({expected_text})" if expected_text else ""
        raise ShapeError(
            f"the network ends with {describe(shape)} but the task needs {describe(expected)}"
            f"{what}; {hint}"
        )
    dtype = torch.int64 if input_kind == "tokens" else torch.float32
    return network_class(modules, tuple(input_shape), specs, shapes, dtype)
