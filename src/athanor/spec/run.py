"""The run spec: everything one training run needs, stored with the run."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from athanor.spec.base import StrictModel
from athanor.spec.data import DataSpec
from athanor.spec.job import JobSpec
from athanor.spec.model import ModelSpec
from athanor.spec.train import TrainSpec

IMAGENET_SIZE = [224, 224]
"""The input size ImageNet-pretrained networks were trained and evaluated at."""


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

    @model_validator(mode="before")
    @classmethod
    def _pretrained_preprocessing(cls, data: Any) -> Any:
        """A network starting from ImageNet weights sees images as in its pretraining (RGB,
        224 x 224, ImageNet's mean and std) unless ``data`` says otherwise."""
        if not isinstance(data, dict) or not _starts_from_imagenet(data):
            return data
        dataset = data.get("data")
        if isinstance(dataset, str):
            dataset = {"dataset": dataset}
        if not isinstance(dataset, dict):
            return data
        dataset = dict(dataset)
        if dataset.get("normalize", "auto") == "auto":
            dataset["normalize"] = "imagenet"
        image = dataset.get("image") or {}
        if isinstance(image, dict):
            dataset["image"] = {"size": IMAGENET_SIZE, "channels": 3, **image}
        return {**data, "data": dataset}

    @property
    def starts_from_weights(self) -> bool:
        """Whether the network starts from trained weights (``init_from``, ``pretrained``)."""
        return (
            self.train.init_from is not None or getattr(self.model, "pretrained", None) is not None
        )


def _starts_from_imagenet(data: dict[str, Any]) -> bool:
    """Whether a raw run spec asks for ImageNet weights (``pretrained`` or ``init_from: zoo:``)."""
    model = data.get("model")
    if isinstance(model, dict) and model.get("pretrained") == "imagenet":
        return True
    train = data.get("train")
    source = train.get("init_from") if isinstance(train, dict) else None
    if isinstance(source, dict):
        source = source.get("model")
    return isinstance(source, str) and source.startswith("zoo:resnet")
