"""VGG (Simonyan & Zisserman, 2015), sized to the data's images."""

from __future__ import annotations

import math

from athanor.data.schema import Schema
from athanor.errors import ShapeError
from athanor.nets.templates import require_input, template_builder
from athanor.spec.layers import Conv2dSpec, DenseSpec, FlattenSpec, LayerSpec, MaxPoolSpec
from athanor.spec.model import VGG_CONVS, VggSpec


@template_builder("vgg")
def expand_vgg(spec: VggSpec, schema: Schema) -> list[LayerSpec]:
    """Stages of 3x3 'same' convolutions each followed by a 2x2 max pool, then dense layers.

    Filters start at ``width`` and double per stage up to ``max_width``. With the default
    stages (from ``depth``), stages that would pool the image below 1x1 are left out: 28x28
    MNIST keeps four of VGG-16's five stages.
    """
    require_input("vgg", schema, ("image",), " (try template mlp)")
    side = min(schema.input.shape[1:])
    fits = int(math.log2(side))  # 2x2 pools before the image would vanish
    if spec.convs is not None:
        convs = list(spec.convs)
        if len(convs) > fits:
            raise ShapeError(
                f"template vgg: {len(convs)} stages halve the {side}-pixel side {len(convs)} "
                f"times; at most {fits} fit (give fewer entries in 'convs')"
            )
    else:
        convs = VGG_CONVS[spec.depth][:fits]
    layers: list[LayerSpec] = []
    for stage, count in enumerate(convs):
        filters = min(spec.width * 2**stage, spec.max_width)
        layers += [
            Conv2dSpec(
                filters=filters,
                kernel=3,
                padding="same",
                batchnorm=spec.batchnorm,
                bias=not spec.batchnorm,
                activation=spec.activation,
            )
            for _ in range(count)
        ]
        layers.append(MaxPoolSpec(size=2))
    layers.append(FlattenSpec())
    hidden = spec.dense if spec.dense is not None else ([4096, 4096] if side >= 64 else [512, 512])
    layers += [
        DenseSpec(units=units, activation=spec.activation, dropout=spec.dropout) for units in hidden
    ]
    return layers
