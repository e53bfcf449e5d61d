"""ResNet: the published sizes of ResNet-18/34/50 and the CIFAR network of the paper."""

from __future__ import annotations

import pytest
import torch

from athanor.data.schema import InputSchema, Schema
from athanor.errors import SpecError
from athanor.nets import build_network, count_parameters
from athanor.spec import load_spec

IMAGENET = Schema(
    task="classification",
    input=InputSchema(kind="image", shape=[3, 224, 224]),
    classes=[f"c{i}" for i in range(1000)],
)
CIFAR = Schema(
    task="classification",
    input=InputSchema(kind="image", shape=[3, 32, 32]),
    classes=[f"c{i}" for i in range(10)],
)


def resnet(options: dict, schema: Schema):
    spec = load_spec({"data": "x", "model": {"template": "resnet", **options}}).model
    with torch.device("meta"):  # shapes and counts without allocating the weights
        return build_network(spec, schema)


@pytest.mark.parametrize(
    ("depth", "parameters"),
    # torchvision.models.resnet18/34/50 with 1000 classes (He et al., 2016, table 1)
    [(18, 11_689_512), (34, 21_797_672), (50, 25_557_032)],
)
def test_imagenet_depths_have_the_published_parameter_counts(depth: int, parameters: int) -> None:
    network = resnet({"depth": depth}, IMAGENET)
    assert count_parameters(network) == (parameters, 0)
    shapes = list(network.layer_shapes.values())
    assert shapes[:2] == [(64, 112, 112), (64, 56, 56)]  # 7x7/2 stem and 3x3/2 max pool
    expansion = 4 if depth >= 50 else 1
    assert shapes[-3:] == [(512 * expansion, 7, 7), (512 * expansion,), (1000,)]


def test_the_cifar_network_has_6n_plus_2_weight_layers() -> None:
    network = resnet({"depth": 20}, CIFAR)
    weight_layers = [
        name
        for name, module in network.named_modules()
        if isinstance(module, torch.nn.Conv2d | torch.nn.Linear) and "shortcut" not in name
    ]
    assert len(weight_layers) == 20
    blocks = [name for name, spec in network.layer_specs.items() if spec.type == "residual"]
    assert len(blocks) == 9
    assert [network.layer_shapes[b] for b in blocks[::3]] == [
        (16, 32, 32),
        (32, 16, 16),
        (64, 8, 8),
    ]
    # 3x3 stem without pooling on small images
    assert network.layer_shapes["conv2d_1"] == (16, 32, 32)


def test_small_images_get_the_cifar_stem_unless_told() -> None:
    assert resnet({}, CIFAR).layer_shapes["conv2d_1"] == (64, 32, 32)
    assert resnet({"stem": "imagenet"}, CIFAR).layer_shapes["conv2d_1"] == (64, 16, 16)
    custom = resnet({"blocks": [1, 1], "width": 8, "bottleneck": True}, CIFAR)
    assert custom.output_shape == (10,) and custom.layer_shapes["globalavgpool_4"] == (64,)


def test_depth_must_be_a_resnet_depth() -> None:
    with pytest.raises(SpecError, match="model.depth: must be 18, 34, 50, 101, 152 or 6n\\+2"):
        load_spec({"data": "x", "model": {"template": "resnet", "depth": 19}})
