"""Learning-rate schedules from their specs, stepped per batch or per epoch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from athanor.spec.train import TrainSpec


@dataclass
class Schedule:
    """A scheduler and when it steps."""

    scheduler: torch.optim.lr_scheduler.LRScheduler
    interval: Literal["step", "epoch"]


def build_schedule(
    spec: TrainSpec, optimizer: torch.optim.Optimizer, steps_per_epoch: int
) -> Schedule | None:
    """The schedule of ``spec.schedule`` for a run of ``spec.epochs`` epochs (None: constant)."""
    schedule = spec.schedule
    total_steps = max(1, steps_per_epoch * spec.epochs)
    optim = torch.optim.lr_scheduler
    if schedule.type == "constant":
        return None
    if schedule.type == "step":
        return Schedule(optim.StepLR(optimizer, schedule.every, schedule.gamma), "epoch")
    if schedule.type == "exponential":
        return Schedule(optim.ExponentialLR(optimizer, schedule.gamma), "epoch")
    if schedule.type == "cosine":
        return Schedule(optim.CosineAnnealingLR(optimizer, total_steps, schedule.min_lr), "step")
    if schedule.type == "onecycle":
        max_lr = schedule.max_lr or spec.optimizer.lr
        return Schedule(
            optim.OneCycleLR(
                optimizer, max_lr=max_lr, total_steps=total_steps, pct_start=schedule.pct_start
            ),
            "step",
        )
    raise AssertionError(f"schedule {schedule.type!r} has no builder")
