"""What one run hands back to its caller: the stored run, its history and its model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from athanor.errors import UserError
from athanor.nets.builder import Network
from athanor.serve.predictor import Predictor
from athanor.store import ModelVersionRecord, RunRecord
from athanor.training.trainer import FitResult


@dataclass
class TrainedRun:
    """The outcome of :func:`athanor.runs.train`, :func:`~athanor.runs.resume` or
    :func:`~athanor.runs.execute`.

    ``package_dir`` and ``model_version`` are ``None`` when the run was stopped before the
    end (it can be resumed).
    """

    run: RunRecord
    fit: FitResult
    test_metrics: dict[str, float]
    package_dir: Path | None
    model_version: ModelVersionRecord | None
    network: Network

    @property
    def id(self) -> int:
        return self.run.id

    def predictor(self) -> Predictor:
        """A predictor reloaded from the run's saved package."""
        if self.package_dir is None:
            raise UserError(f"run {self.id} was stopped before the end and has no model yet")
        return Predictor.from_package(self.package_dir)
