"""The trainer's mutable state, shared with callbacks."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class TrainState:
    """Where training is and what it has seen.

    ``step`` counts optimizer steps over the whole run; ``batch`` is the index of the current
    batch within the epoch; ``history`` has one metrics dict per finished epoch.
    """

    epochs: int
    steps_per_epoch: int
    batch_size: int
    train_size: int
    epoch: int = 0
    step: int = 0
    batch: int = 0
    samples_seen: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    stop_reason: str | None = None
    best_epoch: int | None = None
    started_at: float = field(default_factory=time.perf_counter)
    epoch_started_at: float = field(default_factory=time.perf_counter)

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch
