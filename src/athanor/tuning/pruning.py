"""The callback that ties a training run to its trial: reports, pruning, the time budget."""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

from optuna.study import StudyDirection

from athanor.errors import SpecError
from athanor.training.callbacks.base import Callback
from athanor.training.state import TrainState


def reaches_stop_at(value: float | None, stop_at: float | None, *, maximize: bool) -> bool:
    """Whether a metric's ``value`` reaches a search's ``stop_at`` (never without one): at or
    above it for maximized metrics, at or below it for minimized ones."""
    if stop_at is None or value is None or not math.isfinite(value):
        return False
    return value >= stop_at if maximize else value <= stop_at


class MetricMissing(SpecError):
    """The searched metric is not computed by the trial's runs (the search cannot go on)."""


class TrialReporter(Callback):
    """Reports the searched validation metric to the trial after every epoch; stops the run
    (with a checkpoint, as ``cancelled``) when the pruner says so (pruned, or held at ASHA's
    first rung: see :mod:`athanor.tuning.asha`) or the budget runs out, and ends it (as
    succeeded) once the metric reaches the search's ``stop_at``.

    Args:
        trial: the Optuna trial (``report``, ``should_prune``, ``set_user_attr``).
        metric: the validation metric, e.g. ``val_accuracy``.
        pruner: the pruner's name, for the stop reason.
        deadline: ``time.time()`` at which the search's budget ends (``None``: no limit).
        stop_at: the search's ``tune.stop_at``: the run ends at the first epoch whose metric
            reaches it (at or below for minimized metrics), its model good enough.
    """

    def __init__(
        self,
        trial: Any,
        metric: str,
        pruner: str = "pruner",
        deadline: float | None = None,
        stop_at: float | None = None,
    ) -> None:
        self.trial = trial
        self.metric = metric
        self.pruner = pruner
        self.deadline = deadline
        self.stop_at = stop_at
        self.pruned: str | None = None
        self.held: str | None = None
        self.out_of_time = False
        self.epochs = 0
        self.last_value: float | None = None
        self.run_id: int | None = None

    def on_fit_start(self, trainer, state: TrainState) -> None:
        self.run_id = trainer.run_id
        if trainer.run_id is not None:
            # known before any epoch, so that a killed trial can resume this very run
            self.trial.set_user_attr("run_id", trainer.run_id)
        for epoch, metrics in enumerate(state.history, start=1):  # a resumed run's epochs
            if self.metric in metrics:
                self._report(float(metrics[self.metric]), epoch)

    def on_epoch_end(self, trainer, state: TrainState, metrics: dict[str, float]) -> None:
        if self.metric not in metrics:
            computed = sorted(name for name in metrics if name.startswith("val_"))
            raise MetricMissing(
                f"tune.metric: '{self.metric}' is not computed by these runs; computed: "
                + (", ".join(computed) or "none (the data has no validation split)")
                + (
                    f"; add '{self.metric[4:]}' to train.metrics"
                    if computed and self.metric != "val_loss"
                    else ""
                )
            )
        value = float(metrics[self.metric])
        epoch = state.epoch + 1
        self._report(value, epoch)
        if epoch >= state.epochs:
            return  # the last epoch: the trial is complete, nothing left to prune
        shown = f"{value:.4g}" if math.isfinite(value) else str(value)
        if self._reaches_stop_at(value):
            # the search's goal: this model is good enough, training on only costs time
            state.stop_reason = f"{self.metric} {value:.6g} reached stop_at {self.stop_at:g}"
        elif self._out_of_time():
            trainer.request_stop("stopped: the search's time budget ran out")
        elif self._judged_at(epoch) and self.trial.should_prune():
            if self._was_held():
                self.held = f"held at epoch {epoch} ({self.metric} {shown}) for the first rung"
                trainer.request_stop(self.held)
            else:
                self.pruned = f"pruned by {self.pruner} at epoch {epoch} ({self.metric} {shown})"
                trainer.request_stop(self.pruned)

    def on_after_optimizer_step(self, trainer, state: TrainState) -> None:
        if self.deadline is not None and not self.out_of_time and self._out_of_time():
            trainer.request_stop("stopped: the search's time budget ran out")

    def _reaches_stop_at(self, value: float) -> bool:
        direction = getattr(getattr(self.trial, "study", None), "direction", None)
        return reaches_stop_at(value, self.stop_at, maximize=direction == StudyDirection.MAXIMIZE)

    def _judged_at(self, epoch: int) -> bool:
        """Whether the pruner may stop the trial at ``epoch`` (ASHA: only at its rungs)."""
        judges_at = getattr(self._pruner(), "judges_at", None)
        return judges_at is None or judges_at(epoch)

    def _pruner(self) -> Any:
        return getattr(getattr(self.trial, "study", None), "pruner", None)

    def _was_held(self) -> bool:
        """Whether the pruner held the trial at the first rung rather than pruning it."""
        return getattr(self.trial, "_trial_id", None) in getattr(self._pruner(), "held", ())

    def _out_of_time(self) -> bool:
        if self.deadline is not None and time.time() >= self.deadline:
            self.out_of_time = True
        return self.out_of_time

    def _report(self, value: float, epoch: int) -> None:
        self.epochs = epoch
        self.last_value = value
        with warnings.catch_warnings():
            # a retried trial inherits its reported epochs; reporting them again is harmless
            warnings.simplefilter("ignore", UserWarning)
            self.trial.report(value, epoch)
