"""Stop when a monitored metric stops improving, optionally restoring the best weights."""

from __future__ import annotations

import math
from typing import Any

import torch

from athanor.spec.train import EarlyStoppingSpec
from athanor.training.callbacks.base import Callback
from athanor.training.metrics import higher_is_better
from athanor.training.state import TrainState


class EarlyStopping(Callback):
    """Keras semantics: stop after ``patience`` epochs without an improvement > ``min_delta``."""

    def __init__(self, spec: EarlyStoppingSpec) -> None:
        self.spec = spec
        metric = spec.monitor.split("_", 1)[1]
        maximize = higher_is_better(metric) if spec.mode == "auto" else spec.mode == "max"
        self.sign = -1.0 if maximize else 1.0  # compare as "lower is better"
        self.best: float | None = None
        self.wait = 0
        self.best_weights: dict[str, torch.Tensor] | None = None
        self.restored_epoch: int | None = None

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "wait": self.wait, "best_weights": self.best_weights}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.wait = state["best"], state["wait"]
        self.best_weights = state["best_weights"]

    def on_fit_start(self, trainer, state: TrainState) -> None:
        if state.step == 0:  # a fresh fit; a resumed one keeps what its checkpoint restored
            self.best, self.wait, self.best_weights = None, 0, None

    def on_epoch_end(self, trainer, state: TrainState, metrics: dict[str, float]) -> None:
        value = metrics.get(self.spec.monitor, math.nan)
        score = self.sign * value
        if not math.isnan(value) and (self.best is None or score < self.best - self.spec.min_delta):
            self.best = score
            self.wait = 0
            state.best_epoch = state.epoch + 1
            if self.spec.restore_best:
                self.best_weights = {
                    key: tensor.detach().clone()
                    for key, tensor in trainer.module.state_dict().items()
                }
            return
        self.wait += 1
        if self.wait >= self.spec.patience:
            state.stop_reason = (
                f"early stopping: {self.spec.monitor} did not improve for {self.wait} epoch(s) "
                f"(best {self.sign * (self.best or math.nan):.6g} at epoch {state.best_epoch})"
            )

    def on_fit_end(self, trainer, state: TrainState) -> None:
        if self.best_weights is not None and state.best_epoch != len(state.history):
            trainer.module.load_state_dict(self.best_weights)
            self.restored_epoch = state.best_epoch
