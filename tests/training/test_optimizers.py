"""Optimizers: every spec field reaches its PyTorch class, groups get their own options, and
the updates are the ones worked out by hand."""

from __future__ import annotations

import inspect

import pytest
import torch
from torch import nn

from athanor.errors import UserError
from athanor.spec.train import OPTIMIZER_SPECS, SCHEDULE_SPECS, TorchBound, TrainSpec
from athanor.training.optimizers import build_optimizer, torch_class

BOUND = [
    spec
    for spec in (*OPTIMIZER_SPECS.values(), *SCHEDULE_SPECS.values())
    if issubclass(spec, TorchBound)
]


def test_every_optimizer_and_the_onecycle_and_plateau_schedules_are_bound() -> None:
    assert set(OPTIMIZER_SPECS.values()) <= set(BOUND)
    assert {SCHEDULE_SPECS["onecycle"], SCHEDULE_SPECS["plateau"]} <= set(BOUND)


@pytest.mark.parametrize("spec", BOUND, ids=lambda spec: spec.torch_class)
def test_every_spec_field_is_a_keyword_of_its_torch_class(spec: type[TorchBound]) -> None:
    keywords = set(inspect.signature(torch_class(spec).__init__).parameters)
    fields = set(spec.model_fields)
    assert spec.not_torch <= fields and set(spec.torch_renames) <= fields
    for name in fields - spec.not_torch:
        torch_name = spec.torch_renames.get(name, name)
        assert torch_name in keywords, (
            f"{spec.__name__}.{name} is not a keyword of {spec.torch_class}"
        )


def model() -> nn.Module:
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


@pytest.mark.parametrize(
    ("optimizer", "torch_type"),
    [
        (
            {"type": "sgd", "lr": 0.3, "momentum": 0.8, "nesterov": True, "weight_decay": 0.01},
            torch.optim.SGD,
        ),
        (
            {"type": "adam", "lr": 0.02, "betas": [0.5, 0.9], "eps": 1e-6, "amsgrad": True},
            torch.optim.Adam,
        ),
        ({"type": "adamw", "lr": 0.02, "weight_decay": 0.2}, torch.optim.AdamW),
        ({"type": "rmsprop", "alpha": 0.9, "momentum": 0.5, "centered": True}, torch.optim.RMSprop),
        ({"type": "adagrad", "lr_decay": 0.1, "eps": 1e-5}, torch.optim.Adagrad),
    ],
)
def test_each_spec_value_reaches_the_optimizer(optimizer: dict, torch_type: type) -> None:
    spec = TrainSpec.model_validate({"optimizer": optimizer}).optimizer
    built = build_optimizer(spec, model())
    assert type(built) is torch_type
    for name, value in spec.model_dump().items():
        if name not in spec.not_torch:
            expected = tuple(value) if isinstance(value, list) else value
            assert built.defaults[name] == expected, name


def test_sgd_with_momentum_steps_as_worked_out_by_hand() -> None:
    weight = nn.Parameter(torch.tensor([1.0]))
    holder = nn.Module()
    holder.weight = weight
    spec = TrainSpec.model_validate({"optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9}})
    optimizer = build_optimizer(spec.optimizer, holder)
    seen = []
    for _ in range(2):
        optimizer.zero_grad()
        (weight**2).sum().backward()  # gradient 2w
        optimizer.step()
        seen.append(weight.item())
    # step 1: buffer = 2.0, w = 1 - 0.1 * 2 = 0.8
    # step 2: gradient 1.6, buffer = 0.9 * 2 + 1.6 = 3.4, w = 0.8 - 0.34 = 0.46
    assert seen == pytest.approx([0.8, 0.46])


def test_adam_first_step_moves_each_weight_by_the_rate() -> None:
    # After one step the bias-corrected moments are g and g^2: the update is lr * g / (|g| + eps)
    holder = nn.Module()
    holder.weight = nn.Parameter(torch.tensor([1.0, -2.0, 0.5]))
    spec = TrainSpec.model_validate({"optimizer": {"type": "adam", "lr": 0.01, "eps": 1e-8}})
    optimizer = build_optimizer(spec.optimizer, holder)
    gradient = torch.tensor([0.3, -4.0, 1e-3])
    holder.weight.grad = gradient.clone()
    optimizer.step()
    expected = torch.tensor([1.0, -2.0, 0.5]) - 0.01 * gradient / (gradient.abs() + 1e-8)
    torch.testing.assert_close(holder.weight.detach(), expected)


def test_parameter_groups_keep_their_own_options_and_the_rest_the_optimizers() -> None:
    net = model()
    spec = TrainSpec.model_validate(
        {
            "optimizer": {
                "type": "sgd",
                "lr": 0.1,
                "weight_decay": 0.01,
                "param_groups": [
                    {"params": "0.*", "lr": 0.001},
                    {"params": "*.bias", "weight_decay": 0},
                ],
            }
        }
    ).optimizer
    built = build_optimizer(spec, net)
    groups = [
        (sorted(id(p) for p in group["params"]), group["lr"], group["weight_decay"])
        for group in built.param_groups
    ]
    ids = {name: id(p) for name, p in net.named_parameters()}
    assert groups == [
        (sorted([ids["0.weight"], ids["0.bias"]]), 0.001, 0.01),
        ([ids["2.bias"]], 0.1, 0.0),
        ([ids["2.weight"]], 0.1, 0.01),
    ]
    # another rate for the whole optimizer (a GAN's discriminator): groups keep theirs
    other = build_optimizer(spec, net, lr=0.5)
    assert [group["lr"] for group in other.param_groups] == [0.001, 0.5, 0.5]


def test_a_group_that_matches_nothing_is_named() -> None:
    spec = TrainSpec.model_validate(
        {"optimizer": {"param_groups": [{"params": "conv*", "lr": 0.1}]}}
    ).optimizer
    with pytest.raises(UserError, match=r"param_groups\[0\]\.params: 'conv\*' matches no"):
        build_optimizer(spec, model())
