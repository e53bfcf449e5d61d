"""Building networks from specs: inferred shapes, forward/backward on real data, clear errors."""

from __future__ import annotations

import pytest
import torch

from athanor.data.schema import InputSchema, Schema
from athanor.errors import ShapeError
from athanor.nets import build_network, count_parameters
from athanor.spec import load_spec
from athanor.spec.examples import EXAMPLES_DIR

MNIST = Schema(
    task="classification",
    input=InputSchema(kind="image", shape=[1, 28, 28]),
    classes=[str(d) for d in range(10)],
)


def model(spec: dict):
    return load_spec({"data": "mnist", "model": spec}).model


def mnist_batch(mnist_raw, n: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(mnist_raw.x[:n]).float() / 255.0
    return x, torch.from_numpy(mnist_raw.y[:n])


def test_example_cnn_shapes_and_parameter_count() -> None:
    network = build_network(load_spec(EXAMPLES_DIR / "mnist-cnn.yaml").model, MNIST, seed=0)
    assert network.layer_shapes == {
        "conv2d_1": (16, 28, 28),
        "maxpool_2": (16, 14, 14),
        "conv2d_3": (32, 14, 14),
        "maxpool_4": (32, 7, 7),
        "flatten_5": (1568,),
        "dense_6": (128,),
        "output": (10,),
    }
    # conv 1*16*25+16, conv 16*32*25+32, dense 1568*128+128, output 128*10+10
    assert count_parameters(network) == (416 + 12832 + 200832 + 1290, 0)


@pytest.mark.parametrize(
    "spec",
    [
        {"template": "lenet5"},
        {"template": "lenet5", "pooling": "avg", "activation": "tanh"},
        {"template": "mlp", "hidden": [64, 32], "dropout": 0.1, "batchnorm": True},
        {"template": "mlp", "hidden": [16], "activation": {"maxout": {"pieces": 3}}},
        {
            "layers": [
                {
                    "conv2d": {
                        "filters": 4,
                        "kernel": 4,
                        "padding": "same",
                        "activation": "leaky_relu",
                        "batchnorm": True,
                    }
                },
                {"avgpool": [2, 2]},
                {"conv2d": {"filters": 4, "padding": "full"}},
                {"dropout": 0.2},
                "flatten",
                {"dense": {"units": 8, "activation": "gelu"}},
                {"activation": "softmax"},
            ]
        },
    ],
)
def test_forward_and_backward_on_mnist(mnist_raw, spec: dict) -> None:
    network = build_network(model(spec), MNIST, seed=0)
    x, y = mnist_batch(mnist_raw)
    outputs = network(x)
    assert outputs.shape == (16, 10)
    torch.nn.functional.cross_entropy(outputs, y).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in network.parameters())


def test_templates_adapt_to_small_images(digits_raw) -> None:
    schema = Schema(
        task="classification",
        input=InputSchema(kind="image", shape=[1, 8, 8]),
        classes=[str(d) for d in range(10)],
    )
    network = build_network(model({"template": "lenet5"}), schema, seed=0)
    x = torch.from_numpy(digits_raw.x[:4]).float()
    assert network(x).shape == (4, 10)


def test_same_seed_same_weights() -> None:
    first = build_network(model({"template": "lenet5"}), MNIST, seed=3).state_dict()
    second = build_network(model({"template": "lenet5"}), MNIST, seed=3).state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"layers": ["flatten", {"dense": {"units": 120, "inputs": 400}}]},
            "layer 2 (dense): expects 400 inputs, layer 1 (flatten) gives 784",
        ),
        (
            {"layers": [{"conv2d": {"filters": 6, "in_channels": 3}}]},
            "layer 1 (conv2d): expects 3 input channels, the data (image [1, 28, 28]) gives 1",
        ),
        (
            {"layers": [{"conv2d": 6}, {"dense": 10}]},
            "layer 2 (dense): expects flat features [features] (or [steps, features]), "
            "layer 1 (conv2d) gives [6, 26, 26]; add '- flatten' before it",
        ),
        (
            {"layers": [{"conv2d": {"filters": 6, "kernel": 40}}]},
            "layer 1 (conv2d): kernel 40x40 does not fit the input 28x28",
        ),
        (
            {"layers": ["flatten", {"dense": 32}], "head": False},
            "the network ends with [32] but the task needs [10] (10 classes)",
        ),
        (
            {
                "layers": [
                    "flatten",
                    {"dense": {"units": 8, "name": "a"}},
                    {"dense": {"units": 8, "name": "a"}},
                ]
            },
            "layer 3 (dense 'a'): the name 'a' is already used",
        ),
        (
            {"layers": [{"conv1d": 4}]},
            "layer 1 (conv1d): expects sequences [channels, length], the data (image [1, 28, 28])",
        ),
    ],
)
def test_shape_errors_name_the_layer(spec: dict, message: str) -> None:
    with pytest.raises(ShapeError) as caught:
        build_network(model(spec), MNIST)
    assert str(caught.value).startswith(message)


def test_lenet5_refuses_tables() -> None:
    table = Schema(task="regression", input=InputSchema(kind="tabular", shape=[10]), targets=1)
    with pytest.raises(ShapeError, match="template lenet5 needs images"):
        build_network(model({"template": "lenet5"}), table)
    assert build_network(model({"template": "mlp"}), table)(torch.randn(3, 10)).shape == (3, 1)
