"""LeNet-5 (LeCun, Bottou, Bengio & Haffner, 1998)."""

from __future__ import annotations

from athanor.data.schema import Schema
from athanor.nets.templates import require_input, template_builder
from athanor.spec.layers import (
    AvgPoolSpec,
    Conv2dSpec,
    DenseSpec,
    FlattenSpec,
    LayerSpec,
    MaxPoolSpec,
)
from athanor.spec.model import LeNet5Spec


@template_builder("lenet5")
def expand_lenet5(spec: LeNet5Spec, schema: Schema) -> list[LayerSpec]:
    """C1 6@5x5, S2, C3 16@5x5, S4, F5 120, F6 84 (the output layer follows).

    The original takes 32x32 inputs; smaller images are padded ('same') so that 28x28 MNIST
    gives the classic 16x5x5 feature maps and 8x8 digits still fit.
    """
    require_input("lenet5", schema, ("image",), " (try template mlp)")
    height = min(schema.input.shape[1:])
    pool = MaxPoolSpec if spec.pooling == "max" else AvgPoolSpec
    return [
        Conv2dSpec(
            filters=6,
            kernel=5,
            padding="same" if height < 32 else "valid",
            activation=spec.activation,
        ),
        pool(size=2),
        Conv2dSpec(
            filters=16,
            kernel=5,
            padding="same" if height < 20 else "valid",
            activation=spec.activation,
        ),
        pool(size=2),
        FlattenSpec(),
        DenseSpec(units=120, activation=spec.activation, dropout=spec.dropout),
        DenseSpec(units=84, activation=spec.activation, dropout=spec.dropout),
    ]
