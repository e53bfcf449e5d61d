"""The trainer's mutable state, shared with callbacks and saved in checkpoints."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TrainState:
    """Where training is and what it has seen.

    ``step`` counts optimizer steps over the whole run; ``batch`` is the index of the batch
    being trained within the epoch (after an optimizer step: of the next one); ``history``
    has one metrics dict per finished epoch.
    """

    epochs: int
    steps_per_epoch: int
    batches_per_epoch: int
    batch_size: int
    train_size: int
    epoch: int = 0
    step: int = 0
    batch: int = 0
    samples_seen: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    reports: dict[str, Any] = field(default_factory=dict)
    stop_reason: str | None = None
    interrupted: bool = False
    best_epoch: int | None = None
    elapsed_before: float = 0.0
    started_at: float = field(default_factory=time.perf_counter)
    epoch_started_at: float = field(default_factory=time.perf_counter)

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch

    @property
    def elapsed(self) -> float:
        """Training seconds over every session of the run (resumes included)."""
        return self.elapsed_before + time.perf_counter() - self.started_at

    def position(self) -> dict[str, Any]:
        """What a checkpoint records of the state."""
        return {
            "epoch": self.epoch,
            "step": self.step,
            "batch": self.batch,
            "samples_seen": self.samples_seen,
            "history": self.history,
            "reports": self.reports,
            "best_epoch": self.best_epoch,
            "elapsed": self.elapsed,
        }

    def restore(self, saved: dict[str, Any]) -> None:
        self.epoch = saved["epoch"]
        self.step = saved["step"]
        self.batch = saved["batch"]
        self.samples_seen = saved["samples_seen"]
        self.history = list(saved["history"])
        self.reports = dict(saved["reports"])
        self.best_epoch = saved["best_epoch"]
        self.elapsed_before = saved["elapsed"]
        self.started_at = time.perf_counter()
