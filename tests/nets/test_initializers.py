"""Initializers: each draws weights with the variance it promises; biases start at 0."""

from __future__ import annotations

import math

import pytest
import torch
from pydantic import TypeAdapter
from torch import nn

from athanor.nets import build_network
from athanor.nets.initializers import initialize
from athanor.spec import load_spec
from athanor.spec.activations import ActivationSpec
from athanor.spec.initializers import INITIALIZERS, Initializer
from tests.nets.conftest import MNIST

initializer = TypeAdapter(Initializer)


def drawn(written: object, activation: str | None = None, shape=(400, 300)) -> nn.Linear:
    torch.manual_seed(0)
    layer = nn.Linear(shape[1], shape[0])
    act = ActivationSpec(type=activation) if activation else None
    return initialize(layer, initializer.validate_python(written), act)


@pytest.mark.parametrize(
    ("written", "activation", "std"),
    [
        ("xavier_uniform", None, math.sqrt(2 / 700)),
        ("glorot_normal", None, math.sqrt(2 / 700)),
        ({"xavier_normal": {"gain": 2.0}}, None, 2 * math.sqrt(2 / 700)),
        ("he_normal", None, math.sqrt(2 / 300)),  # relu's gain by default
        ("kaiming_uniform", "tanh", 5 / 3 / math.sqrt(300)),  # the gain of the layer's activation
        ({"he_normal": {"mode": "fan_out"}}, None, math.sqrt(2 / 400)),
        ({"he_normal": {"nonlinearity": "selu"}}, None, math.sqrt(1 / 300)),
        ({"normal": {"std": 0.05}}, None, 0.05),
        ("normal", None, 0.02),
    ],
)
def test_weights_have_the_promised_spread(written, activation, std: float) -> None:
    layer = drawn(written, activation)
    assert layer.weight.std().item() == pytest.approx(std, rel=0.03)
    assert torch.count_nonzero(layer.bias) == 0


def test_orthogonal_zeros_and_default() -> None:
    weight = drawn({"orthogonal": {"gain": 1.0}}, shape=(30, 40)).weight
    assert torch.allclose(weight @ weight.T, torch.eye(30), atol=1e-5)
    assert torch.count_nonzero(drawn("zeros").weight) == 0
    default = drawn("default")
    assert torch.count_nonzero(default.bias) > 0  # PyTorch's own, untouched
    assert set(INITIALIZERS) >= {"xavier_uniform", "he_uniform", "orthogonal", "normal", "zeros"}


def test_layer_init_overrides_the_model_default_and_norms_are_kept() -> None:
    spec = load_spec(
        {
            "data": "mnist",
            "model": {
                "init": "zeros",
                "layers": [
                    {"conv2d": {"filters": 4, "batchnorm": True}},
                    "flatten",
                    {"dense": {"units": 8, "init": {"normal": {"std": 0.5}}}},
                    {"dense": 8},
                ],
            },
        }
    ).model
    network = build_network(spec, MNIST, seed=0)
    assert torch.count_nonzero(network.conv2d_1.conv.weight) == 0
    assert torch.all(network.conv2d_1.norm.weight == 1)  # batch norm keeps scale 1
    assert network.dense_3.linear.weight.std().item() == pytest.approx(0.5, rel=0.05)
    assert torch.count_nonzero(network.output.linear.weight) == 0


def test_recurrent_and_embedding_weights_are_initialized(char_batch) -> None:
    spec = load_spec(
        {
            "data": "x",
            "model": {
                "init": "orthogonal",
                "layers": [
                    {"embedding": {"dim": 8, "init": {"normal": {"std": 0.3}}}},
                    {"gru": {"units": 8, "return_sequences": True}},
                ],
            },
        }
    ).model
    network = build_network(spec, char_batch.schema(), seed=0)
    hidden = network.gru_2.rnn.weight_hh_l0  # [3 * 8, 8]: orthonormal columns
    assert torch.allclose(hidden.T @ hidden, torch.eye(8), atol=1e-5)
    assert torch.count_nonzero(network.gru_2.rnn.bias_ih_l0) == 0
    assert network.embedding_1.weight.std().item() == pytest.approx(0.3, rel=0.1)
