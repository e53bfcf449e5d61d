"""Training: the trainer, optimizers, schedules, losses, metrics and callbacks.

The package is also the Python API's ``athanor.train(spec, overrides)``: calling it runs
:func:`athanor.api.training.train`. (Python binds ``athanor.train`` to this package as soon as
anything imports it, so the package itself must be the callable.)
"""

from __future__ import annotations

import sys
import types
from typing import Any

from athanor.train.evaluation import evaluate_split
from athanor.train.trainer import FitResult, Trainer, TrainingDiverged

__all__ = ["FitResult", "Trainer", "TrainingDiverged", "evaluate_split"]


class _CallableTrainPackage(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from athanor.api.training import train

        return train(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableTrainPackage
