"""Learning-rate schedules from their specs.

``constant``, ``step``, ``exponential`` and ``cosine`` are closed-form multipliers of the
optimizer's rate, evaluated per optimizer step (epoch-based ones change at epoch boundaries)
and combined with an optional linear warm-up. ``onecycle`` is PyTorch's OneCycleLR (it warms
up by itself); ``plateau`` is ReduceLROnPlateau, stepped after validation with its metric.
Every schedule's state is part of a checkpoint.
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
    StepScheduleSpec,
    TrainSpec,
)
from athanor.training.metrics import higher_is_better


class ScheduleFactor:
    """The rate multiplier at optimizer step ``step`` (a picklable-free, stateless callable)."""

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


def build_schedule(
    spec: TrainSpec, optimizer: torch.optim.Optimizer, steps_per_epoch: int
) -> Schedule | None:
    """The schedule of ``spec.schedule`` for ``spec.epochs`` epochs (None: constant rate)."""
    schedule = spec.schedule
    total_steps = max(1, steps_per_epoch * spec.epochs)
    optim = torch.optim.lr_scheduler
    if isinstance(schedule, OneCycleScheduleSpec):
        max_lr = schedule.max_lr or spec.optimizer.lr
        return Schedule(
            optim.OneCycleLR(
                optimizer,
                max_lr=max_lr,
                total_steps=total_steps,
                pct_start=schedule.pct_start,
                div_factor=schedule.div_factor,
                final_div_factor=schedule.final_div_factor,
            ),
            "step",
        )
    if isinstance(schedule, PlateauScheduleSpec):
        metric = schedule.monitor.split("_", 1)[1]
        maximize = higher_is_better(metric) if schedule.mode == "auto" else schedule.mode == "max"
        return Schedule(
            optim.ReduceLROnPlateau(
                optimizer,
                mode="max" if maximize else "min",
                factor=schedule.factor,
                patience=schedule.patience,
                threshold=schedule.threshold,
                cooldown=schedule.cooldown,
                min_lr=schedule.min_lr,
            ),
            "validation",
            monitor=schedule.monitor,
        )
    if schedule.type == "constant" and not (schedule.warmup_steps or schedule.warmup_epochs):
        return None
    factor = ScheduleFactor(schedule, steps_per_epoch, total_steps, spec.optimizer.lr)
    return Schedule(optim.LambdaLR(optimizer, factor), "step")


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
