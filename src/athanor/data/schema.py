"""What a prepared dataset looks like to a network and to a predictor; stored with models."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Task = Literal["classification", "regression"]
InputKind = Literal["image", "tabular"]


class InputSchema(BaseModel):
    """The inputs of one sample.

    ``shape`` is what the network receives (after preprocessing), without the batch
    dimension: ``[channels, height, width]`` for images, ``[features]`` for tables.
    """

    kind: InputKind
    shape: list[int]
    features: list[str] | None = Field(default=None, description="Column names of a table.")
    background: Literal["dark", "light"] | None = Field(
        default=None,
        description="Typical border brightness of training images; prediction inverts "
        "images with the opposite background.",
    )


class Schema(BaseModel):
    """Inputs, task and target of a dataset."""

    task: Task
    input: InputSchema
    target: str = "label"
    classes: list[str] | None = Field(default=None, description="Class names, by index.")
    targets: int = Field(default=1, ge=1, description="Regression outputs per sample.")

    @property
    def output_size(self) -> int:
        """Units of the network's output layer."""
        if self.task == "classification":
            assert self.classes is not None
            return len(self.classes)
        return self.targets
