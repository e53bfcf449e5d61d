"""A live progress bar per epoch and a summary line after each one."""

from __future__ import annotations

import time

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from athanor.training.callbacks.base import Callback
from athanor.training.state import TrainState


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def format_metrics(metrics: dict[str, float]) -> str:
    shown = {k: v for k, v in metrics.items() if k not in ("epoch_seconds", "lr")}
    return "  ".join(f"{name} {value:.4f}" for name, value in shown.items())


class ProgressBar(Callback):
    """Shows loss, accuracy (or the first metric), samples/s and ETA while training.

    The bar is redrawn at most every ``refresh_seconds`` (default 0.25 s) by the training
    thread itself; nothing runs in between.
    """

    def __init__(self, console: Console | None = None, *, refresh_seconds: float = 0.25) -> None:
        self.console = console or Console(stderr=True)
        self.refresh_seconds = refresh_seconds
        self.progress: Progress | None = None
        self.task = None
        self._next = 0.0
        self._loss: float | None = None

    def on_fit_start(self, trainer, state: TrainState) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=30),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            console=self.console,
            auto_refresh=False,
            transient=True,
        )
        self.progress.start()
        self.task = self.progress.add_task("", total=state.steps_per_epoch, status="")

    def on_epoch_start(self, trainer, state: TrainState) -> None:
        assert self.progress is not None
        self._loss = None
        self.progress.reset(
            self.task,
            total=state.steps_per_epoch,
            description=f"epoch {state.epoch + 1}/{state.epochs}",
            status="",
        )
        self.progress.refresh()
        self._next = time.perf_counter() + self.refresh_seconds

    def on_batch_end(self, trainer, state: TrainState, loss: torch.Tensor) -> None:
        now = time.perf_counter()
        if now < self._next:
            return
        self._next = now + self.refresh_seconds
        value = float(loss)
        self._loss = value if self._loss is None else 0.8 * self._loss + 0.2 * value
        elapsed = now - state.epoch_started_at
        done = state.batch + 1
        rate = done * state.batch_size / elapsed if elapsed > 0 else 0.0
        step_rate = done / elapsed if elapsed > 0 else 0.0
        epoch_eta = (state.steps_per_epoch - done) / step_rate if step_rate else 0.0
        run_eta = (state.total_steps - state.step) / step_rate if step_rate else 0.0
        parts = [f"loss {self._loss:.4f}"]
        metrics = getattr(trainer, "train_metrics", None)
        if metrics:
            parts.append(f"{metrics[0].name} {metrics[0].compute():.4f}")
        parts.append(f"{rate:,.0f} samples/s")
        parts.append(
            f"ETA {_clock(epoch_eta)}" + (f" (run {_clock(run_eta)})" if state.epochs > 1 else "")
        )
        assert self.progress is not None
        self.progress.update(self.task, completed=done, status="  ".join(parts))
        self.progress.refresh()

    def on_epoch_end(self, trainer, state: TrainState, metrics: dict[str, float]) -> None:
        seconds = metrics.get("epoch_seconds", 0.0)
        rate = state.train_size / seconds if seconds else 0.0
        self.console.print(
            f"epoch {state.epoch + 1}/{state.epochs}  {format_metrics(metrics)}  "
            f"[dim]{seconds:.1f}s, {rate:,.0f} samples/s[/dim]",
            highlight=False,
        )

    def on_fit_end(self, trainer, state: TrainState) -> None:
        self._stop()
        if state.stop_reason:
            self.console.print(f"[yellow]{state.stop_reason}[/yellow]", highlight=False)

    def on_exception(self, trainer, state: TrainState, error: BaseException) -> None:
        self._stop()

    def _stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
