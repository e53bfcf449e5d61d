"""Choose the anomaly threshold of an autoencoder on the validation split."""

from __future__ import annotations

import numpy as np
import torch

from athanor.data.anomaly import choose_threshold, score_statistics, step_scores
from athanor.data.batching import BatchSource
from athanor.data.prepare import Prepared
from athanor.training.callbacks.base import Callback
from athanor.training.state import TrainState


def reconstruction_errors(module: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Squared reconstruction error of each window's steps, averaged over features:
    ``[B, T, F]`` windows to ``[B, T]``."""
    error = (module(x).float() - x.float()).square()
    return error.flatten(2).mean(dim=2) if error.dim() > 2 else error


def window_errors(module: torch.nn.Module, batches: BatchSource) -> np.ndarray:
    """``[N, T]`` step errors of every window of ``batches``, in order."""
    was_training = module.training
    module.eval()
    errors = []
    with torch.inference_mode():
        for x, _ in batches.epoch(0):
            errors.append(reconstruction_errors(module, x).cpu())
    module.train(was_training)
    return torch.cat(errors).numpy() if errors else np.zeros((0, 0))


def anomaly_scores(module: torch.nn.Module, batches: BatchSource) -> np.ndarray:
    """Mean squared reconstruction error per window."""
    errors = window_errors(module, batches)
    return errors.mean(axis=1) if errors.size else np.zeros(0)


class AnomalyThreshold(Callback):
    """After training, set the threshold above which a timestamp is called an anomaly: the
    ``quantile`` of the validation part's timestamp scores (that part assumed normal), or
    their mean plus ``k`` standard deviations (``method="sigma"``).

    The record (value, method, split, score statistics) goes to the run's reports
    (``anomaly_threshold``) and into the model package, so predictions flag the same way.
    """

    def __init__(
        self,
        prepared: Prepared,
        batch_size: int,
        *,
        method: str = "quantile",
        quantile: float = 0.99,
        k: float = 3.0,
    ) -> None:
        self.prepared = prepared
        self.batch_size = batch_size
        self.method = method
        self.quantile = quantile
        self.k = k
        self.threshold: float | None = None

    def on_fit_end(self, trainer, state: TrainState) -> None:
        if state.interrupted:
            return
        validation = self.prepared.batches("val", self.batch_size, device=trainer.device)
        errors = window_errors(trainer.module, validation)
        if not errors.size:
            return
        windows = self.prepared.windows.get("val")
        if windows is not None and len(windows) == len(errors):
            steps = int(windows.stop.max())
            scores = step_scores(errors, windows.start, steps)
        else:  # no window positions: each window's steps stand alone
            scores = errors.ravel()
        record = choose_threshold(
            scores, method=self.method, quantile=self.quantile, k=self.k, split="val"
        )
        record["validation_windows"] = len(errors)
        window_scores = errors.mean(axis=1)
        record["window_statistics"] = score_statistics(window_scores)
        # The same rule over whole windows' scores, for scorers of windows rather than steps.
        record["window_threshold"] = choose_threshold(
            window_scores, method=self.method, quantile=self.quantile, k=self.k
        )["value"]
        self.threshold = record["value"]
        state.reports["anomaly_threshold"] = record
