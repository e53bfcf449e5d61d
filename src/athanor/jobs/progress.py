"""Progress of a job in the store: step, epoch, rate and ETA, about once a second.

The training thread only builds a small dict when a second has passed since the last one
(one clock read per step otherwise); a daemon thread writes the newest one. The first step
of an attempt is written at once: it is how long the job took to start.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

from athanor.store.jobs import JobRepository
from athanor.training.callbacks.base import Callback
from athanor.training.state import TrainState


def _now() -> str:
    return datetime.now(UTC).isoformat()


class JobProgress(Callback):
    """Writes the job's progress to the store while it trains.

    The ETA divides the steps left by the steps per second of this attempt so far,
    validation included (it is part of every epoch's time).

    Args:
        jobs: the job repository.
        job_id: the job.
        every: seconds between writes (default 1).
    """

    def __init__(self, jobs: JobRepository, job_id: int, *, every: float = 1.0) -> None:
        self.jobs = jobs
        self.job_id = job_id
        self.every = every
        self._pending: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._next = 0.0
        self._first_step_at: str | None = None
        self._metrics: dict[str, float] = {}

    # --- hooks -------------------------------------------------------------------------

    def on_fit_start(self, trainer, state: TrainState) -> None:
        self._started = time.perf_counter()
        self._start_step = state.step
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="job-progress", daemon=True)
        self._thread.start()
        self._publish(self._snapshot(state, "training"))

    def on_after_optimizer_step(self, trainer, state: TrainState) -> None:
        now = time.perf_counter()
        if now < self._next:
            return
        if self._first_step_at is None:
            self._first_step_at = _now()
        self._next = now + self.every
        self._publish(self._snapshot(state, "training", now))

    def on_epoch_end(self, trainer, state: TrainState, metrics: dict[str, float]) -> None:
        self._metrics = {
            name: float(value) for name, value in metrics.items() if name != "epoch_seconds"
        }
        self._publish(self._snapshot(state, "training"))

    def on_fit_end(self, trainer, state: TrainState) -> None:
        phase = "stopped" if state.interrupted else "testing and saving the model"
        self._close(self._snapshot(state, phase))

    def on_exception(self, trainer, state: TrainState, error: BaseException) -> None:
        self._close(self._snapshot(state, "failed"))

    # --- snapshots ---------------------------------------------------------------------

    def _snapshot(self, state: TrainState, phase: str, now: float | None = None) -> dict[str, Any]:
        now = time.perf_counter() if now is None else now
        elapsed = now - self._started
        done = state.step - self._start_step
        rate = done / elapsed if elapsed > 0 and done > 0 else None
        total = state.total_steps
        left = max(0, total - state.step)
        return {
            "phase": phase,
            "step": state.step,
            "total_steps": total,
            "epoch": min(state.epoch + 1, state.epochs),
            "epochs": state.epochs,
            "batch": state.batch,
            "steps_per_epoch": state.steps_per_epoch,
            "fraction": round(state.step / total, 4) if total else None,
            "steps_per_second": round(rate, 3) if rate else None,
            "samples_per_second": round(rate * state.batch_size, 1) if rate else None,
            "eta_seconds": round(left / rate, 1) if rate else None,
            "elapsed_seconds": round(state.elapsed, 1),
            "first_step_at": self._first_step_at,
            "metrics": self._metrics,
            "updated_at": _now(),
        }

    def _publish(self, snapshot: dict[str, Any]) -> None:
        with self._lock:
            self._pending = snapshot
        self._wake.set()

    def _write(self) -> None:
        with self._lock:
            snapshot, self._pending = self._pending, None
        if snapshot is not None:
            self.jobs.set_progress(self.job_id, snapshot)

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait()
            self._wake.clear()
            try:
                self._write()
            except Exception:  # a busy database: the next snapshot replaces this one
                continue

    def _close(self, snapshot: dict[str, Any]) -> None:
        self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            self._pending = snapshot
        self._write()
