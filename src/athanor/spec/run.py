"""The run spec: everything one training run needs, stored with the run."""

from __future__ import annotations

from pydantic import Field

from athanor.spec.base import StrictModel
from athanor.spec.data import DataSpec
from athanor.spec.job import JobSpec
from athanor.spec.model import ModelSpec
from athanor.spec.train import TrainSpec


class RunSpec(StrictModel):
    """One training run: data, network and training, plus what to do with the result."""

    name: str = Field(
        default="run",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$",
        description="A label for the run (letters, digits, '_', '.', '-').",
    )
    description: str = ""
    seed: int = Field(default=0, ge=0, description="Seeds splits, initialization and shuffling.")
    data: DataSpec
    model: ModelSpec
    train: TrainSpec = Field(default_factory=TrainSpec)
    register_as: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$",
        description="Register the trained model under this name when the run succeeds.",
    )
    job: JobSpec = Field(
        default_factory=JobSpec,
        description="Resources, priority and restarts when the run is submitted as a job.",
    )
