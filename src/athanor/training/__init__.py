"""Training: the trainer, optimizers, schedules, losses, metrics and callbacks.

One run end to end (data, network, fit, package) is :mod:`athanor.runs`; this package is the
engine it drives.
"""

from __future__ import annotations

from athanor.training.evaluation import evaluate_split
from athanor.training.trainer import FitResult, Trainer, TrainingDiverged

__all__ = ["FitResult", "Trainer", "TrainingDiverged", "evaluate_split"]
