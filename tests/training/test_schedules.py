"""Learning-rate schedules: the rates they set, step by step, against PyTorch's own schedulers
or numbers worked out by hand, for every parameter group."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from athanor.data.prepare import prepare
from athanor.errors import UserError
from athanor.nets import build_network
from athanor.spec import load_spec
from athanor.spec.train import TrainSpec
from athanor.training import Trainer
from athanor.training.callbacks import Callback
from athanor.training.schedules import base_rates, build_schedule, step_after_validation


def optimizer(*rates: float) -> torch.optim.Optimizer:
    """SGD over one parameter per group; the first rate is the optimizer's own."""
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in rates]
    return torch.optim.SGD(groups, lr=rates[0])


def schedule_spec(schedule: dict):
    return TrainSpec.model_validate({"schedule": schedule}).schedule


def rates(opt: torch.optim.Optimizer, scheduler, steps: int) -> list[list[float]]:
    """The rate of each group before each of ``steps`` optimizer steps."""
    seen = []
    for _ in range(steps):
        seen.append([group["lr"] for group in opt.param_groups])
        opt.step()
        scheduler.step()
    return seen


def test_epoch_schedules_change_at_epoch_boundaries() -> None:
    opt = optimizer(0.1)
    schedule = build_schedule(
        schedule_spec({"type": "step", "every": 2, "gamma": 0.5}), opt, steps_per_epoch=3, epochs=5
    )
    assert schedule.interval == "step"
    got = [r[0] for r in rates(opt, schedule.scheduler, 15)]
    assert got == pytest.approx([0.1] * 6 + [0.05] * 6 + [0.025] * 3)

    opt = optimizer(0.1)
    schedule = build_schedule(
        schedule_spec({"type": "exponential", "gamma": 0.9}), opt, steps_per_epoch=2, epochs=3
    )
    got = [r[0] for r in rates(opt, schedule.scheduler, 6)]
    assert got == pytest.approx([0.1, 0.1, 0.09, 0.09, 0.081, 0.081])


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (
            {"type": "step", "every": 3, "gamma": 0.3},
            lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.3),
        ),
        (
            {"type": "exponential", "gamma": 0.8},
            lambda opt: torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.8),
        ),
        (
            {"type": "cosine", "min_lr": 0.001},
            lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=0.001),
        ),
    ],
)
def test_closed_form_schedules_match_pytorch_per_group(ours: dict, theirs) -> None:
    # one step per epoch, ten epochs: PyTorch's epoch schedulers give the same rates; each
    # group (0.1 and 0.02) is scheduled from its own rate
    opt = optimizer(0.1, 0.02)
    schedule = build_schedule(schedule_spec(ours), opt, steps_per_epoch=1, epochs=10)
    reference = optimizer(0.1, 0.02)
    expected = rates(reference, theirs(reference), 11)
    np.testing.assert_allclose(rates(opt, schedule.scheduler, 11), expected, rtol=1e-9)


def test_cosine_anneals_to_min_lr_by_hand() -> None:
    opt = optimizer(0.1)
    schedule = build_schedule(
        schedule_spec({"type": "cosine", "min_lr": 0.01}), opt, steps_per_epoch=2, epochs=2
    )
    expected = [0.01 + 0.09 * 0.5 * (1 + math.cos(math.pi * s / 4)) for s in range(5)]
    assert [r[0] for r in rates(opt, schedule.scheduler, 5)] == pytest.approx(expected)
    assert expected[-1] == pytest.approx(0.01)


def test_warmup_is_linear_then_the_schedule_takes_over() -> None:
    opt = optimizer(0.1)
    schedule = build_schedule(
        schedule_spec({"type": "constant", "warmup_steps": 3}), opt, steps_per_epoch=5, epochs=1
    )
    got = [r[0] for r in rates(opt, schedule.scheduler, 5)]
    assert got == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.1])
    # warm-up given in epochs: 0.5 epoch of 4 steps is 2 steps
    opt = optimizer(0.2)
    schedule = build_schedule(
        schedule_spec({"type": "step", "every": 1, "gamma": 0.5, "warmup_epochs": 0.5}),
        opt,
        steps_per_epoch=4,
        epochs=2,
    )
    got = [r[0] for r in rates(opt, schedule.scheduler, 8)]
    assert got == pytest.approx([0.2 / 3, 0.4 / 3, 0.2, 0.2, 0.1, 0.1, 0.1, 0.1])


def test_a_constant_rate_needs_no_scheduler() -> None:
    assert build_schedule(schedule_spec("constant"), optimizer(0.1), 10, 3) is None


def test_onecycle_matches_pytorch_and_keeps_each_groups_rate() -> None:
    opt = optimizer(0.1, 0.01)
    schedule = build_schedule(schedule_spec("onecycle"), opt, steps_per_epoch=5, epochs=4)
    reference = optimizer(0.1, 0.01)
    expected = torch.optim.lr_scheduler.OneCycleLR(reference, max_lr=[0.1, 0.01], total_steps=20)
    got = rates(opt, schedule.scheduler, 20)
    np.testing.assert_allclose(got, rates(reference, expected, 20), rtol=1e-9)
    assert max(r[0] for r in got) == pytest.approx(0.1)
    assert max(r[1] for r in got) == pytest.approx(0.01)
    assert got[0] == pytest.approx([0.1 / 25, 0.01 / 25])  # div_factor 25


def test_onecycle_max_lr_raises_every_group_in_proportion() -> None:
    opt = optimizer(0.1, 0.01)
    spec = schedule_spec({"type": "onecycle", "max_lr": 0.5, "pct_start": 0.5})
    schedule = build_schedule(spec, opt, steps_per_epoch=10, epochs=1)
    got = rates(opt, schedule.scheduler, 10)
    assert max(r[0] for r in got) == pytest.approx(0.5)
    assert max(r[1] for r in got) == pytest.approx(0.05)


def test_plateau_reduces_after_patience_in_the_metrics_direction() -> None:
    opt = optimizer(0.1, 0.01)
    spec = schedule_spec({"type": "plateau", "monitor": "val_accuracy", "patience": 1})
    schedule = build_schedule(spec, opt, steps_per_epoch=10, epochs=5)
    assert schedule.interval == "validation" and schedule.monitor == "val_accuracy"
    seen = []
    for accuracy in (0.5, 0.6, 0.6, 0.6, 0.7, 0.7, 0.7):  # higher is better: mode max
        step_after_validation(schedule, {"val_accuracy": accuracy, "val_loss": 1.0})
        seen.append([group["lr"] for group in opt.param_groups])
    assert [r[0] for r in seen] == pytest.approx([0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.001])
    assert [r[1] for r in seen] == pytest.approx([0.01, 0.01, 0.01, 0.001, 0.001, 0.001, 1e-4])
    with pytest.raises(UserError, match="train.schedule.monitor: 'val_accuracy' is not computed"):
        step_after_validation(schedule, {"val_loss": 1.0})


def test_a_restored_schedule_continues_where_it_was() -> None:
    spec = schedule_spec({"type": "cosine", "warmup_steps": 2})
    opt = optimizer(0.1, 0.05)
    schedule = build_schedule(spec, opt, steps_per_epoch=4, epochs=2)
    first = rates(opt, schedule.scheduler, 3)
    saved_optimizer, saved = opt.state_dict(), schedule.state_dict()
    assert saved["lr_lambdas"] == [None, None]  # rebuilt from the spec, not stored
    rest = rates(opt, schedule.scheduler, 5)

    again = optimizer(0.1, 0.05)
    restored = build_schedule(spec, again, steps_per_epoch=4, epochs=2)
    again.load_state_dict(saved_optimizer)
    restored.load_state_dict(saved)
    np.testing.assert_allclose(rates(again, restored.scheduler, 5), rest, rtol=1e-12)
    assert first[0] == pytest.approx([0.1 / 3, 0.05 / 3])
    assert base_rates(again) == pytest.approx([0.1, 0.05])


class _GroupRates(Callback):
    def __init__(self) -> None:
        self.rates: list[list[float]] = []

    def on_after_optimizer_step(self, trainer, state) -> None:
        self.rates.append([group["lr"] for group in trainer.optimizer.param_groups])


def test_onecycle_in_training_keeps_per_group_learning_rates() -> None:
    # The hidden layer trains at a tenth of the optimizer's rate; one-cycle used to give every
    # group the same peak, the optimizer's rate.
    spec = load_spec(
        {
            "data": {"dataset": "iris", "split": {"val": 0.2}},
            "model": {"template": "mlp", "hidden": [8]},
            "train": {
                "epochs": 3,
                "batch_size": 16,
                "optimizer": {
                    "type": "adam",
                    "lr": 0.01,
                    "param_groups": [{"params": "dense_1", "lr": 0.001}],
                },
                "schedule": "onecycle",
            },
        }
    )
    prepared = prepare(spec.data, spec.seed)
    network = build_network(spec.model, prepared.schema, seed=spec.seed)
    seen = _GroupRates()
    Trainer(spec.train, callbacks=[seen]).fit(network, prepared)
    hidden, rest = zip(*seen.rates, strict=True)
    assert max(hidden) == pytest.approx(0.001, rel=0.05)
    assert max(rest) == pytest.approx(0.01, rel=0.05)
    assert all(h == pytest.approx(r / 10) for h, r in zip(hidden, rest, strict=True))


def test_onecycle_whose_warm_up_ends_at_the_first_step_starts_at_the_peak() -> None:
    # PyTorch's OneCycleLR divides by zero here (4 steps at pct_start 0.25).
    opt = optimizer(0.1, 0.01)
    spec = schedule_spec({"type": "onecycle", "pct_start": 0.25})
    schedule = build_schedule(spec, opt, steps_per_epoch=1, epochs=4)
    got = [r[0] for r in rates(opt, schedule.scheduler, 4)]
    assert got[0] == pytest.approx(0.1, rel=1e-4) and got[0] > got[1] > got[2] > got[3]
