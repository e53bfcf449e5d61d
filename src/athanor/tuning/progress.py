"""Search progress in the terminal: trials done, the best so far, elapsed time and ETA."""

from __future__ import annotations

import math
import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from athanor.spec.tune import format_duration
from athanor.tuning.space import short
from athanor.tuning.trials import TrialOutcome

_STYLE = {
    "complete": "green",
    "pruned": "yellow",
    "held": "cyan",
    "stopped": "yellow",
    "failed": "red",
    "interrupted": "red",
}


def estimate_eta(
    remaining: int, durations: list[float], slots: int, deadline: float | None, now: float
) -> float | None:
    """Seconds until the search ends: remaining trials at the mean trial time, run
    ``slots`` at a time, but never past the budget's deadline. ``None`` before any trial
    has ended (unless a deadline bounds it)."""
    left = None if deadline is None else max(0.0, deadline - now)
    if not durations:
        return left
    eta = remaining * (sum(durations) / len(durations)) / max(1, slots)
    return eta if left is None else min(eta, left)


class SearchProgress:
    """A live bar of the search plus one line per finished trial.

    Args:
        console: where it goes (default standard error).
        enabled: False prints nothing (``--quiet``, ``--json``, tests).
    """

    def __init__(self, console: Console | None = None, *, enabled: bool = True) -> None:
        self.console = console or Console(stderr=True, highlight=False)
        self.enabled = enabled
        self.progress: Progress | None = None
        self.task: Any = None
        self.durations: list[float] = []
        self.started = time.time()
        self.deadline: float | None = None
        self.slots = 1
        self.target = 0
        self.done = 0
        self.metric = ""
        self.best: tuple[float, int] | None = None

    def note(self, text: str) -> None:
        """A line above the bar."""
        if self.enabled:
            self.console.print(text, highlight=False)

    def start(
        self,
        title: str,
        *,
        done: int,
        target: int,
        slots: int,
        metric: str,
        deadline: float | None,
        best: tuple[float, int] | None = None,
    ) -> None:
        self.started = time.time()
        self.done, self.target, self.slots = done, target, slots
        self.metric, self.deadline, self.best = metric, deadline, best
        if not self.enabled:
            return
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TextColumn("trials  {task.fields[status]}"),
            console=self.console,
            transient=True,
            refresh_per_second=2,
        )
        self.progress.start()
        self.task = self.progress.add_task(title, total=target, completed=done, status="")
        self.refresh()

    def trial_done(self, outcome: TrialOutcome, done: int, best: tuple[float, int] | None) -> None:
        """Record a finished trial: a line for it, then the bar."""
        self.done, self.best = done, best
        if outcome.state in ("complete", "pruned", "stopped", "failed"):
            self.durations.append(outcome.seconds)
        if self.enabled:
            style = _STYLE.get(outcome.state, "")
            value = (
                f"{self.metric} {outcome.value:.4f}"
                if outcome.value is not None and math.isfinite(outcome.value)
                else ""
            )
            params = ", ".join(
                f"{name.rsplit('.', 1)[-1]}={short(v, 24)}" for name, v in outcome.params.items()
            )
            reason = outcome.reason if outcome.state != "complete" else ""
            parts = [
                f"trial {outcome.number}",
                f"[{style}]{outcome.state}[/{style}]",
                value,
                f"{outcome.epochs} ep" if outcome.epochs else "",
                f"{outcome.seconds:.1f}s",
                params,
                f"[dim]{reason}[/dim]" if reason else "",
            ]
            self.console.print("  ".join(p for p in parts if p), highlight=False)
        self.refresh()

    def eta(self) -> float | None:
        remaining = max(0, self.target - self.done)
        return estimate_eta(remaining, self.durations, self.slots, self.deadline, time.time())

    def refresh(self) -> None:
        if self.progress is None:
            return
        parts = []
        if self.best is not None:
            parts.append(f"best {self.metric} {self.best[0]:.4f} (trial {self.best[1]})")
        parts.append(f"elapsed {format_duration(time.time() - self.started)}")
        eta = self.eta()
        if eta is not None:
            parts.append(f"ETA {format_duration(eta)}")
        if self.deadline is not None:
            parts.append(f"budget left {format_duration(max(0, self.deadline - time.time()))}")
        self.progress.update(self.task, completed=self.done, status="  ".join(parts))

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
