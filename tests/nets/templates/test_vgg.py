"""VGG: the published VGG-11/16 sizes, and stages fitted to small images."""

from __future__ import annotations

import pytest
import torch

from athanor.data.schema import InputSchema, Schema
from athanor.errors import ShapeError
from athanor.nets import build_network, count_parameters
from athanor.spec import load_spec
from tests.nets.conftest import MNIST

IMAGENET = Schema(
    task="classification",
    input=InputSchema(kind="image", shape=[3, 224, 224]),
    classes=[f"c{i}" for i in range(1000)],
)


def vgg(options: dict, schema: Schema):
    spec = load_spec({"data": "x", "model": {"template": "vgg", **options}}).model
    with torch.device("meta"):
        return build_network(spec, schema)


@pytest.mark.parametrize(
    # torchvision.models.vgg11 / vgg16 (Simonyan & Zisserman, 2015, configurations A and D)
    ("depth", "parameters"),
    [(11, 132_863_336), (16, 138_357_544)],
)
def test_published_parameter_counts(depth: int, parameters: int) -> None:
    network = vgg({"depth": depth, "batchnorm": False}, IMAGENET)
    assert count_parameters(network) == (parameters, 0)
    assert network.layer_shapes[f"flatten_{depth - 3 + 5 + 1}"] == (512 * 7 * 7,)


def test_small_images_keep_the_stages_that_fit() -> None:
    network = vgg({"width": 8}, MNIST)  # 28 px: four of VGG-16's five 2x2 pools
    pools = [n for n, s in network.layer_specs.items() if s.type == "maxpool"]
    assert [network.layer_shapes[p] for p in pools] == [
        (8, 14, 14),
        (16, 7, 7),
        (32, 3, 3),
        (64, 1, 1),
    ]
    dense = [s.units for s in network.layer_specs.values() if s.type == "dense"]
    assert dense == [512, 512, 10]
    with pytest.raises(ShapeError, match="template vgg: 5 stages halve the 28-pixel side"):
        vgg({"convs": [1, 1, 1, 1, 1]}, MNIST)
