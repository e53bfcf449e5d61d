"""CenterNet (Zhou, Wang & Krahenbuhl, 2019): objects as points, from Athanor's own blocks."""

from __future__ import annotations

import math

import torch

from athanor.data.schema import DETECTION_STRIDE, Schema
from athanor.errors import ShapeError
from athanor.nets.detection import HEATMAP_PRIOR
from athanor.nets.network import Network
from athanor.nets.registry import BuildContext
from athanor.nets.stack import build_stack
from athanor.nets.templates import expected_text, require_input, require_task, template_builder
from athanor.spec.layers import Conv2dSpec, LayerSpec, UpsampleSpec
from athanor.spec.model import CenterNetSpec


@template_builder("centernet")
def build_centernet(spec: CenterNetSpec, schema: Schema) -> Network:
    """A stride-2 3x3 stem, ``depth - 1`` stride-2 stages (plus ``convs`` 3x3 convolutions
    each) doubling the filters, then nearest upsampling by 2 and a 3x3 convolution until the
    maps are at a quarter of the input, a 3x3 head convolution and one 1x1 convolution to
    ``classes + 4`` maps: heatmap logits, box width and height, center offset.

    The heatmap's bias starts at the logit of :data:`HEATMAP_PRIOR` (as in the paper).
    """
    require_input("centernet", schema, ("image",))
    require_task("centernet", schema, ("detection",))
    _, height, width = schema.input.shape
    factor = 2**spec.depth
    if height % factor or width % factor:
        raise ShapeError(
            f"template centernet: depth {spec.depth} needs image sides divisible by {factor}; "
            f"the data gives {height}x{width} (set data.image.size or a smaller depth)"
        )

    def conv(filters: int, stride: int = 1, name: str | None = None) -> Conv2dSpec:
        return Conv2dSpec(
            filters=filters,
            kernel=3,
            stride=stride,
            padding=1,
            batchnorm=spec.batchnorm,
            bias=not spec.batchnorm,
            activation=spec.activation,
            name=name,
        )

    def filters(stage: int) -> int:
        return min(spec.width * 2**stage, spec.max_width)

    layers: list[LayerSpec] = [conv(filters(0), stride=2, name="stem")]
    for stage in range(1, spec.depth):
        layers.append(conv(filters(stage), stride=2, name=f"down{stage}"))
        layers += [conv(filters(stage), name=f"down{stage}_{i + 1}") for i in range(spec.convs)]
    for step, stage in enumerate(range(spec.depth - 1, int(math.log2(DETECTION_STRIDE)) - 1, -1)):
        layers += [
            UpsampleSpec(scale=2, name=f"up{step + 1}"),
            conv(filters(stage - 1), name=f"up{step + 1}_conv"),
        ]
    classes = len(schema.classes or [])
    layers += [
        conv(spec.head_width, name="head"),
        Conv2dSpec(filters=classes + 4, kernel=1, name="maps"),
    ]
    network = build_stack(
        layers,
        tuple(schema.input.shape),
        input_kind="image",
        context=BuildContext(init=spec.init),
        expected=tuple(schema.output_shape),
        expected_text=expected_text(schema),
    )
    with torch.no_grad():
        maps = network[len(network) - 1]
        bias = maps.bias if isinstance(maps, torch.nn.Conv2d) else _last_bias(maps)
        bias[:classes].fill_(-math.log((1 - HEATMAP_PRIOR) / HEATMAP_PRIOR))
    return network


def _last_bias(module: torch.nn.Module) -> torch.Tensor:
    biases = [p for name, p in module.named_parameters() if name.endswith("bias")]
    return biases[-1]
