"""Record a run's metrics and checkpoints in the store while it trains."""

from __future__ import annotations

import time
from pathlib import Path

import torch

from athanor.store.metric_writer import MetricWriter
from athanor.store.runs import RunRepository
from athanor.training.callbacks.base import Callback
from athanor.training.state import TrainState


class StoreLogger(Callback):
    """Logs epoch metrics, a sampled batch loss (``batch_loss``) and values other callbacks
    queue with ``trainer.record``; notes each checkpoint in the run's summary.

    The batch loss is sampled at most every ``sample_seconds`` (default 1 s); writes happen on
    a background thread (:class:`MetricWriter`), except that everything logged before a
    checkpoint is written before the checkpoint is announced.

    ``logged_until`` maps metric names to the highest step already stored (a job attempt
    that resumes after a crash): points at or before it are not written again.
    """

    def __init__(
        self,
        runs: RunRepository,
        run_id: int,
        *,
        sample_seconds: float = 1.0,
        logged_until: dict[str, int] | None = None,
    ) -> None:
        self.runs = runs
        self.run_id = run_id
        self.sample_seconds = sample_seconds
        self.logged_until = dict(logged_until or {})
        self.writer: MetricWriter | None = None
        self._next_sample = 0.0

    def on_fit_start(self, trainer, state: TrainState) -> None:
        self.writer = MetricWriter(self.runs, self.run_id)
        self._next_sample = time.perf_counter() + self.sample_seconds

    def on_batch_end(self, trainer, state: TrainState, loss: torch.Tensor) -> None:
        now = time.perf_counter()
        if now >= self._next_sample and self.writer is not None:
            self._next_sample = now + self.sample_seconds
            self._add("batch_loss", float(loss), state.step, state.epoch + 1)
            self._drain(trainer)

    def on_epoch_end(self, trainer, state: TrainState, metrics: dict[str, float]) -> None:
        assert self.writer is not None
        for name, value in metrics.items():
            self._add(name, value, state.step, state.epoch + 1)
        self._drain(trainer)
        self.writer.flush_soon()

    def on_checkpoint_save(self, trainer, state: TrainState, path: Path) -> None:
        if self.writer is not None:
            self._drain(trainer)
            self.writer.flush()
        self.runs.update(
            self.run_id,
            summary={"checkpoint": {"path": str(path), "step": state.step, "epoch": state.epoch}},
        )

    def on_fit_end(self, trainer, state: TrainState) -> None:
        self._close(trainer)

    def on_exception(self, trainer, state: TrainState, error: BaseException) -> None:
        self._close(trainer)

    def _add(self, name: str, value: float, step: int, epoch: int) -> None:
        assert self.writer is not None
        if self.logged_until and step <= self.logged_until.get(name, -1):
            return
        self.writer.add(name, value, step=step, epoch=epoch)

    def _drain(self, trainer) -> None:
        pending, trainer.pending = trainer.pending, []
        for name, value, step, epoch in pending:
            self._add(name, value, step, epoch)

    def _close(self, trainer) -> None:
        if self.writer is not None:
            self._drain(trainer)
            writer, self.writer = self.writer, None
            writer.close()
