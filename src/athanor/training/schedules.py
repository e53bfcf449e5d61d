"""Learning-rate schedules from their specs.

``constant``, ``step``, ``exponential`` and ``cosine`` are closed-form multipliers of the
optimizer's rate, evaluated per optimizer step (epoch-based ones change at epoch boundaries)
and combined with an optional linear warm-up. ``onecycle`` is PyTorch's OneCycleLR (it warms
up by itself); ``plateau`` is ReduceLROnPlateau, stepped after validation with its metric.
Every schedule's state is part of a checkpoint.

Base rates come from the optimizer's parameter groups, never from the spec: each group
(``train.optimizer.param_groups``, a GAN's discriminator with its own rate) is scheduled
from its own rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch

from athanor.errors import UserError
from athanor.spec.train import (
    CosineScheduleSpec,
    ExponentialScheduleSpec,
    OneCycleScheduleSpec,
    PlateauScheduleSpec,
    ScheduleSpec,
    StepScheduleSpec,
)
from athanor.training.metrics import higher_is_better
from athanor.training.optimizers import torch_class


class ScheduleFactor:
    """The rate multiplier of a parameter group whose own rate is ``base_lr``, at optimizer
    step ``step`` (a stateless callable)."""

    def __init__(self, spec, steps_per_epoch: int, total_steps: int, base_lr: float) -> None:
        self.spec = spec
        self.steps_per_epoch = max(1, steps_per_epoch)
        self.total_steps = max(1, total_steps)
        self.base_lr = base_lr
        warmup = spec.warmup_steps or round(spec.warmup_epochs * self.steps_per_epoch)
        self.warmup = int(warmup)

    def __call__(self, step: int) -> float:
        epoch = step // self.steps_per_epoch
        spec = self.spec
        if isinstance(spec, StepScheduleSpec):
            factor = spec.gamma ** (epoch // spec.every)
        elif isinstance(spec, ExponentialScheduleSpec):
            factor = spec.gamma**epoch
        elif isinstance(spec, CosineScheduleSpec):
            floor = min(spec.min_lr / self.base_lr, 1.0)
            progress = min(step / self.total_steps, 1.0)
            factor = floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
        else:
            factor = 1.0
        if self.warmup and step < self.warmup:
            factor *= (step + 1) / (self.warmup + 1)
        return factor


@dataclass
class Schedule:
    """A scheduler and when it steps: after each optimizer step, or after validation."""

    scheduler: torch.optim.lr_scheduler.LRScheduler | torch.optim.lr_scheduler.ReduceLROnPlateau
    interval: Literal["step", "validation"]
    monitor: str | None = None

    def state_dict(self) -> dict:
        state = self.scheduler.state_dict()
        if "lr_lambdas" in state:  # rebuilt from the spec; only the step count matters
            state["lr_lambdas"] = [None] * len(state["lr_lambdas"])
        return state

    def load_state_dict(self, state: dict) -> None:
        self.scheduler.load_state_dict(state)


def base_rates(optimizer: torch.optim.Optimizer) -> list[float]:
    """Each parameter group's own rate before any schedule changed it: ``initial_lr`` where a
    scheduler already recorded it, else ``lr``."""
    return [float(group.get("initial_lr", group["lr"])) for group in optimizer.param_groups]


def build_schedule(
    schedule: ScheduleSpec, optimizer: torch.optim.Optimizer, steps_per_epoch: int, epochs: int
) -> Schedule | None:
    """The schedule ``schedule`` (``train.schedule``) of ``optimizer`` over ``epochs`` epochs.

    Returns:
        The scheduler and when it steps, or None for a constant rate without warm-up.
    """
    total_steps = max(1, steps_per_epoch * epochs)
    bases = base_rates(optimizer)
    if isinstance(schedule, OneCycleScheduleSpec):
        # max_lr is the peak of the optimizer's own rate; groups with theirs peak in proportion
        scale = schedule.max_lr / optimizer.defaults["lr"] if schedule.max_lr else 1.0
        keywords = schedule.torch_keywords()
        keywords.update(max_lr=[base * scale for base in bases], total_steps=total_steps)
        pct_start = keywords.get("pct_start", 0.3)
        if math.isclose(pct_start * total_steps, 1.0):
            # Then the warm-up ends where it starts, at step 0, and OneCycleLR divides by
            # zero (4 steps at pct_start 0.25); a hair shorter starts at the peak, as meant.
            keywords["pct_start"] = pct_start * (1 - 1e-6)
        return Schedule(torch_class(schedule)(optimizer, **keywords), "step")
    if isinstance(schedule, PlateauScheduleSpec):
        metric = schedule.monitor.split("_", 1)[1]
        maximize = higher_is_better(metric) if schedule.mode == "auto" else schedule.mode == "max"
        keywords = {**schedule.torch_keywords(), "mode": "max" if maximize else "min"}
        return Schedule(
            torch_class(schedule)(optimizer, **keywords), "validation", monitor=schedule.monitor
        )
    if schedule.type == "constant" and not (schedule.warmup_steps or schedule.warmup_epochs):
        return None
    factors = [ScheduleFactor(schedule, steps_per_epoch, total_steps, base) for base in bases]
    return Schedule(torch.optim.lr_scheduler.LambdaLR(optimizer, factors), "step")


def step_after_validation(schedule: Schedule, metrics: dict[str, float]) -> None:
    """Step a plateau schedule with its monitored metric.

    Raises:
        UserError: the monitored metric is not computed for this run.
    """
    assert schedule.monitor is not None
    if schedule.monitor not in metrics:
        raise UserError(
            f"train.schedule.monitor: '{schedule.monitor}' is not computed for this run; "
            f"valid: {', '.join(sorted(k for k in metrics if k.startswith(('val_', 'train_'))))}"
        )
    schedule.scheduler.step(metrics[schedule.monitor])
