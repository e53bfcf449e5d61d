"""ResNet (He, Zhang, Ren & Sun, 2016): ImageNet-style 18-152 and the CIFAR 6n+2 networks."""

from __future__ import annotations

from athanor.data.schema import Schema
from athanor.nets.templates import require_input, template_builder
from athanor.spec.layers import (
    Conv2dSpec,
    DropoutSpec,
    GlobalAvgPoolSpec,
    LayerSpec,
    MaxPoolSpec,
    ResidualSpec,
)
from athanor.spec.model import RESNET_BLOCKS, ResNetSpec


@template_builder("resnet")
def expand_resnet(spec: ResNetSpec, schema: Schema) -> list[LayerSpec]:
    """Stem, stages of residual blocks (the first block of each later stage halves the size and
    doubles the filters), global average pooling; the output layer follows.

    Depths 18/34/50/101/152 have four stages from ``width`` 64, bottleneck blocks from 50 on;
    a depth 6n+2 has three stages of n basic blocks from ``width`` 16. The ``imagenet`` stem
    is a 7x7/2 convolution and a 3x3/2 max pool; the ``cifar`` stem a 3x3 convolution, which
    keeps small images (under 64 px with ``stem: auto``) large enough for every stage.
    """
    require_input("resnet", schema, ("image",), " (try template mlp)")
    imagenet_family = spec.depth in RESNET_BLOCKS
    if spec.blocks is not None:
        blocks = list(spec.blocks)
    elif imagenet_family:
        blocks = RESNET_BLOCKS[spec.depth]
    else:
        blocks = [(spec.depth - 2) // 6] * 3
    width = spec.width or (64 if imagenet_family else 16)
    bottleneck = spec.bottleneck
    if bottleneck is None:
        bottleneck = imagenet_family and spec.depth >= 50 and spec.blocks is None
    stem = spec.stem
    if spec.pretrained is not None:
        stem = "imagenet"  # the published weights were learned with it, whatever the size
    elif stem == "auto":
        stem = "cifar" if min(schema.input.shape[1:]) < 64 else "imagenet"

    layers: list[LayerSpec] = []
    if stem == "imagenet":
        layers += [
            Conv2dSpec(
                filters=width,
                kernel=7,
                stride=2,
                padding=3,
                bias=False,
                batchnorm=True,
                activation=spec.activation,
            ),
            MaxPoolSpec(size=3, stride=2, padding=1),
        ]
    else:
        layers.append(
            Conv2dSpec(
                filters=width,
                kernel=3,
                padding=1,
                bias=False,
                batchnorm=True,
                activation=spec.activation,
            )
        )
    for stage, count in enumerate(blocks):
        for index in range(count):
            layers.append(
                ResidualSpec(
                    filters=width * 2**stage,
                    stride=2 if stage > 0 and index == 0 else 1,
                    bottleneck=bottleneck,
                    activation=spec.activation,
                )
            )
    layers.append(GlobalAvgPoolSpec())
    if spec.dropout > 0:
        layers.append(DropoutSpec(rate=spec.dropout))
    return layers
