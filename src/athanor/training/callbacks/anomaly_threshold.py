"""Choose the anomaly threshold of an autoencoder on the validation split."""

from __future__ import annotations

import numpy as np
import torch

from athanor.data.batching import BatchSource
from athanor.data.prepare import Prepared
from athanor.training.callbacks.base import Callback
from athanor.training.state import TrainState


def anomaly_scores(module: torch.nn.Module, batches: BatchSource) -> np.ndarray:
    """Reconstruction error per window (``module.anomaly_scores`` if it has one, else the
    mean squared error of ``module(x)`` against ``x``)."""
    was_training = module.training
    module.eval()
    scores = []
    with torch.inference_mode():
        for x, _ in batches.epoch(0):
            if hasattr(module, "anomaly_scores"):
                score = module.anomaly_scores(x)
            else:
                score = (module(x) - x).square().flatten(1).mean(dim=1)
            scores.append(score.float().cpu())
    module.train(was_training)
    return torch.cat(scores).numpy() if scores else np.zeros(0)


class AnomalyThreshold(Callback):
    """After training, set the threshold above which a window is called an anomaly: the
    ``quantile`` of reconstruction errors on the validation split (windows assumed normal).

    The threshold and the quantile go to the run's reports (``anomaly_threshold``); the
    model package keeps them so predictions are flagged the same way.
    """

    def __init__(self, prepared: Prepared, batch_size: int, *, quantile: float = 0.99) -> None:
        self.prepared = prepared
        self.batch_size = batch_size
        self.quantile = quantile
        self.threshold: float | None = None

    def on_fit_end(self, trainer, state: TrainState) -> None:
        if state.interrupted:
            return
        validation = self.prepared.batches("val", self.batch_size, device=trainer.device)
        scores = anomaly_scores(trainer.module, validation)
        if len(scores):
            self.threshold = float(np.quantile(scores, self.quantile))
            state.reports["anomaly_threshold"] = {
                "value": self.threshold,
                "quantile": self.quantile,
                "validation_windows": len(scores),
            }
