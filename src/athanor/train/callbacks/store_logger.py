"""Record a run's metrics in the store while it trains."""

from __future__ import annotations

import time

import torch

from athanor.store.metric_writer import MetricWriter
from athanor.store.runs import RunRepository
from athanor.train.callbacks.base import Callback
from athanor.train.state import TrainState


class StoreLogger(Callback):
    """Logs epoch metrics and a sampled batch loss (``batch_loss``) to the store.

    The batch loss is sampled at most every ``sample_seconds`` (default 1 s); writes happen on
    a background thread (:class:`MetricWriter`).
    """

    def __init__(self, runs: RunRepository, run_id: int, *, sample_seconds: float = 1.0) -> None:
        self.runs = runs
        self.run_id = run_id
        self.sample_seconds = sample_seconds
        self.writer: MetricWriter | None = None
        self._next_sample = 0.0

    def on_fit_start(self, trainer, state: TrainState) -> None:
        self.writer = MetricWriter(self.runs, self.run_id)
        self._next_sample = time.perf_counter() + self.sample_seconds

    def on_batch_end(self, trainer, state: TrainState, loss: torch.Tensor) -> None:
        now = time.perf_counter()
        if now >= self._next_sample and self.writer is not None:
            self._next_sample = now + self.sample_seconds
            self.writer.add("batch_loss", float(loss), step=state.step, epoch=state.epoch + 1)

    def on_epoch_end(self, trainer, state: TrainState, metrics: dict[str, float]) -> None:
        assert self.writer is not None
        for name, value in metrics.items():
            self.writer.add(name, value, step=state.step, epoch=state.epoch + 1)
        self.writer.flush_soon()

    def on_fit_end(self, trainer, state: TrainState) -> None:
        self._close()

    def on_exception(self, trainer, state: TrainState, error: BaseException) -> None:
        self._close()

    def _close(self) -> None:
        if self.writer is not None:
            writer, self.writer = self.writer, None
            writer.close()
