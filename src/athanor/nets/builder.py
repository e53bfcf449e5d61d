"""Build a network from its spec and the data's schema, checking every shape first."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from athanor.data.schema import Schema
from athanor.errors import ShapeError
from athanor.nets import blocks  # noqa: F401 - registers the block builders
from athanor.nets.registry import BLOCK_BUILDERS, Shape, ShapeMismatch, describe
from athanor.nets.templates import TEMPLATE_BUILDERS
from athanor.spec.layers import DenseSpec, LayerSpec
from athanor.spec.model import LayerStackSpec, ModelSpec, TemplateSpec


class Network(nn.Sequential):
    """A sequential network built from a spec.

    Attributes:
        input_shape: one sample's input shape.
        layer_specs: the spec of each layer, by module name.
        layer_shapes: each layer's output shape, by module name.
    """

    def __init__(
        self,
        modules: OrderedDict[str, nn.Module],
        input_shape: Shape,
        layer_specs: dict[str, LayerSpec],
        layer_shapes: dict[str, Shape],
    ) -> None:
        super().__init__(modules)
        self.input_shape = input_shape
        self.layer_specs = layer_specs
        self.layer_shapes = layer_shapes

    @property
    def output_shape(self) -> Shape:
        return next(reversed(self.layer_shapes.values()), self.input_shape)


def expand(spec: ModelSpec, schema: Schema) -> tuple[list[LayerSpec], bool]:
    """The layers a model spec stands for, and whether an output layer is appended."""
    if isinstance(spec, LayerStackSpec):
        return list(spec.layers), spec.head
    assert isinstance(spec, TemplateSpec)
    return TEMPLATE_BUILDERS[spec.template](spec, schema), True


def _label(index: int, spec: LayerSpec, name: str) -> str:
    named = f" '{name}'" if spec.name else ""
    return f"layer {index} ({spec.type}{named})" if name != "output" else "the output layer (dense)"


def build_network(spec: ModelSpec, schema: Schema, *, seed: int | None = None) -> Network:
    """Build the network for ``schema`` from ``spec``.

    Args:
        spec: the model section of a run spec.
        schema: the prepared data's schema (input shape, task, classes).
        seed: seeds parameter initialization when given.

    Raises:
        ShapeError: naming the layer whose input does not fit, what it expects and what the
            layer before it (or the data) gives.
    """
    layers, head = expand(spec, schema)
    expected = schema.output_shape
    if head:
        # Dense acts on the last dimension: [features] -> [units], [steps, f] -> [steps, units].
        layers.append(DenseSpec(units=expected[-1], name="output"))
    if seed is not None:
        torch.manual_seed(seed)

    shape: Shape = tuple(schema.input.shape)
    source = f"the data ({schema.input.kind} {describe(shape)})"
    modules: OrderedDict[str, nn.Module] = OrderedDict()
    specs: dict[str, LayerSpec] = {}
    shapes: dict[str, Shape] = {}
    for index, layer in enumerate(layers, start=1):
        name = layer.name or f"{layer.type}_{index}"
        label = _label(index, layer, name)
        if name in modules:
            raise ShapeError(f"{label}: the name '{name}' is already used by an earlier layer")
        try:
            built = BLOCK_BUILDERS[layer.type](layer, shape)
        except ShapeMismatch as exc:
            raise ShapeError(f"{label}: {str(exc).replace('gets', source + ' gives', 1)}") from None
        modules[name] = built.module
        specs[name] = layer
        shapes[name] = built.out_shape
        shape = built.out_shape
        source = f"{label} gives {describe(shape)}".rsplit(" gives ", 1)[0]

    if shape != expected:
        what = {
            "classification": f"{len(schema.classes or [])} classes",
            "regression": f"{schema.targets} target value(s)",
        }.get(schema.task, schema.task)
        raise ShapeError(
            f"the network ends with {describe(shape)} but the task needs {describe(expected)} "
            f"({what}); let the output layer be added (head: true) or end with "
            f"'- dense: {expected[-1]}'"
        )
    return Network(modules, tuple(schema.input.shape), specs, shapes)


def count_parameters(module: nn.Module) -> tuple[int, int]:
    """(trainable, frozen) parameter counts."""
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in module.parameters() if not p.requires_grad)
    return trainable, frozen
