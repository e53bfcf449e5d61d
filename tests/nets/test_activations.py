"""Activations: values, straight-through gradients and maxout."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from pydantic import TypeAdapter

from athanor.nets import build_network
from athanor.nets.activations import Maxout, build_activation
from athanor.spec import load_spec
from athanor.spec.activations import ACTIVATIONS, Activation, ActivationSpec
from athanor.spec.layers import DenseSpec, FlattenSpec
from athanor.spec.model import LayerStackSpec
from tests.nets.conftest import MNIST

activation = TypeAdapter(Activation)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_activation_runs_forward_and_backward(name: str) -> None:
    module = build_activation(activation.validate_python(name))
    x = torch.linspace(-2, 2, 16).view(2, 8).requires_grad_()
    y = module(x)
    y.sum().backward()
    assert torch.isfinite(y).all() and x.grad is not None and torch.isfinite(x.grad).all()


def test_step_and_sign_pass_gradients_straight_through() -> None:
    x = torch.tensor([-2.0, -0.5, 0.5, 2.0], requires_grad=True)
    step = build_activation(activation.validate_python("step"))
    assert step(x).tolist() == [0.0, 0.0, 1.0, 1.0]
    step(x).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 0.0]  # identity inside |x| <= 1
    sign = build_activation(activation.validate_python("sign"))
    assert sign(x).tolist() == [-1.0, -1.0, 1.0, 1.0]


def test_parameters_reach_the_modules() -> None:
    leaky = build_activation(activation.validate_python({"leaky_relu": {"alpha": 0.2}}))
    assert leaky(torch.tensor([-1.0])).item() == pytest.approx(-0.2)
    elu = build_activation(activation.validate_python({"elu": {"alpha": 2.0}}))
    assert elu(torch.tensor([-100.0])).item() == pytest.approx(-2.0)


def test_maxout_takes_the_max_of_each_group() -> None:
    x = torch.tensor([[1.0, 5.0, 3.0, -1.0, 2.0, 0.0]])
    assert Maxout(3)(x).tolist() == [[5.0, 2.0]]
    steps = torch.stack([x[0], -x[0]]).unsqueeze(0)  # [1, 2 steps, 6 features]
    assert Maxout(3, dim=-1)(steps).tolist() == [[[5.0, 2.0], [-1.0, 1.0]]]


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_activation_from_yaml_and_python_trains_on_mnist(
    name: str, mnist_images, tmp_path: Path
) -> None:
    pieces = {"pieces": 3} if name == "maxout" else {}
    written = f"{{{name}: {{pieces: 3}}}}" if pieces else name
    path = tmp_path / "spec.yaml"
    path.write_text(
        f"data: mnist\nmodel:\n  layers:\n    - flatten\n"
        f"    - dense: {{units: 12, activation: {written}}}\n"
    )
    from_yaml = load_spec(path).model
    from_python = LayerStackSpec(
        layers=[FlattenSpec(), DenseSpec(units=12, activation=ActivationSpec(type=name, **pieces))]
    )
    assert from_yaml == from_python
    network = build_network(from_python, MNIST, seed=0)
    x, y = mnist_images
    hidden = network[:2](x)
    assert hidden.shape == (16, 12)
    torch.nn.functional.cross_entropy(network(x), y).backward()
    assert all(torch.isfinite(p.grad).all() for p in network.parameters())
    assert network.dense_2.linear.weight.grad.abs().sum() > 0  # the gradient passes through
