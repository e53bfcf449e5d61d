"""Activations: values, straight-through gradients and maxout."""

from __future__ import annotations

import pytest
import torch
from pydantic import TypeAdapter

from athanor.nets.activations import Maxout, build_activation
from athanor.spec.activations import ACTIVATIONS, Activation

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
