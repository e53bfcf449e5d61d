"""Multi-layer perceptron."""

from __future__ import annotations

from athanor.data.schema import Schema
from athanor.nets.templates import template_builder
from athanor.spec.layers import DenseSpec, FlattenSpec, LayerSpec
from athanor.spec.model import MlpSpec


@template_builder("mlp")
def expand_mlp(spec: MlpSpec, schema: Schema) -> list[LayerSpec]:
    """Flatten (for non-flat inputs), then one dense layer per entry of ``hidden``."""
    layers: list[LayerSpec] = []
    if len(schema.input.shape) > 1:
        layers.append(FlattenSpec())
    layers += [
        DenseSpec(
            units=units,
            activation=spec.activation,
            dropout=spec.dropout,
            batchnorm=spec.batchnorm,
        )
        for units in spec.hidden
    ]
    return layers
