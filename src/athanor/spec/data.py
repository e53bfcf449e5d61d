"""Data specs: which dataset, how it is split, and how inputs are normalized."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from athanor.spec.base import StrictModel

Size = float | int
"""A fraction in (0, 1) or a count of samples."""


def _check_size(value: Size | None, key: str) -> None:
    if value is None:
        return
    if isinstance(value, float) and not 0.0 < value < 1.0:
        raise PydanticCustomError(
            "bad_size",
            "{key} must be a fraction in (0, 1) or a count >= 1 (got {value})",
            {"key": key, "value": value},
        )
    if isinstance(value, int) and value < 1:
        raise PydanticCustomError(
            "bad_size",
            "{key} must be a fraction in (0, 1) or a count >= 1 (got {value})",
            {"key": key, "value": value},
        )


class SplitSpec(StrictModel):
    """How the training data is split into train / validation (/ test).

    Datasets with an official test set (MNIST, ...) keep it untouched as the test split;
    ``test`` applies only to datasets without one.
    """

    val: Size = Field(default=0.1, description="Validation share: fraction or count.")
    test: Size = Field(
        default=0.2, description="Test share for datasets without an official test split."
    )
    method: Literal["auto", "random", "stratified"] = Field(
        default="auto", description="auto: stratified for classification, else random."
    )
    seed: int | None = Field(default=None, description="Split seed; default the run's seed.")

    @model_validator(mode="after")
    def _check(self) -> SplitSpec:
        _check_size(self.val, "val")
        _check_size(self.test, "test")
        return self


class SubsetSpec(StrictModel):
    """Use a seeded random subset of each split: quick experiments and tests."""

    train: int | None = Field(default=None, ge=1)
    val: int | None = Field(default=None, ge=1)
    test: int | None = Field(default=None, ge=1)


class DataSpec(StrictModel):
    """The dataset and its preparation."""

    dataset: str = Field(
        min_length=1, description="A catalog name (athanor data catalog) or an imported dataset."
    )
    target: str | None = Field(
        default=None, description="Target column of a table; default the dataset's own."
    )
    split: SplitSpec = Field(default_factory=SplitSpec)
    normalize: Literal["standard", "minmax", "none"] = Field(
        default="standard", description="Input scaling, fitted on the training split only."
    )
    subset: SubsetSpec | None = None
    shorthand = "dataset"
