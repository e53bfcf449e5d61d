"""Log the learning rate of every parameter group while training."""

from __future__ import annotations

import time

from athanor.training.callbacks.base import Callback
from athanor.training.state import TrainState


class LRMonitor(Callback):
    """Records ``lr`` (and ``lr_group<i>`` for further groups) at most every ``sample_seconds``
    and at each epoch start, into the run's metric log (through the trainer's record queue)."""

    def __init__(self, sample_seconds: float = 1.0) -> None:
        self.sample_seconds = sample_seconds
        self._next = 0.0

    def on_epoch_start(self, trainer, state: TrainState) -> None:
        self._record(trainer)

    def on_after_optimizer_step(self, trainer, state: TrainState) -> None:
        now = time.perf_counter()
        if now >= self._next:
            self._next = now + self.sample_seconds
            self._record(trainer)

    def _record(self, trainer) -> None:
        for index, group in enumerate(trainer.optimizer.param_groups):
            trainer.record("lr_step" if index == 0 else f"lr_step_group{index}", group["lr"])
