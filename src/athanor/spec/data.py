"""Data specs: which dataset, how it is split, and how inputs are normalized."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from athanor.spec.base import StrictModel

Size = float | int
"""A fraction in (0, 1) or a count of samples."""


def _check_size(value: Size | None, key: str) -> None:
    if value is None or value == 0:  # 0: no such part (nothing held out)
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
    ``test`` applies only to datasets without one. A share of 0 holds nothing out for that
    part; ``split: none`` holds out nothing at all (training on every sample).
    """

    val: Size = Field(default=0.1, description="Validation share: fraction or count; 0: none.")
    test: Size = Field(
        default=0.2,
        description="Test share for datasets without an official test split; 0: none.",
    )
    method: Literal["auto", "random", "stratified", "group", "time"] = Field(
        default="auto",
        description="auto: time-ordered for series and text, stratified for classification, "
        "else random; group: whole groups of the 'group' column; time: ordered by 'time'.",
    )
    seed: int | None = Field(default=None, description="Split seed; default the run's seed.")
    group: str | None = Field(
        default=None, description="Table column whose groups never straddle splits (group)."
    )
    time: str | None = Field(
        default=None, description="Table column that orders rows for a time-ordered split."
    )

    @model_validator(mode="after")
    def _check(self) -> SplitSpec:
        _check_size(self.val, "val")
        _check_size(self.test, "test")
        if self.method == "group" and not self.group:
            raise PydanticCustomError(
                "missing_group", "method 'group' needs split.group: the column of group ids", {}
            )
        return self


class AugmentSpec(StrictModel):
    """Random image augmentation of training batches (never of val/test or predictions).

    Each batch's augmentation is drawn from the run's seed, the epoch and the batch index,
    so a resumed run sees exactly the same images.
    """

    crop: int = Field(
        default=0, ge=0, le=64, description="Pad by this many pixels and crop back randomly."
    )
    flip: bool = Field(default=False, description="Mirror left-right with probability 0.5.")
    rotation: float = Field(
        default=0.0, ge=0.0, le=180.0, description="Rotate by up to this many degrees."
    )
    color_jitter: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Scale brightness and contrast by a factor in [1 - j, 1 + j].",
    )
    scale: float = Field(
        default=0.0,
        ge=0.0,
        le=0.9,
        description="Zoom by a factor in [1 - s, 1 + s] about the center (detection moves "
        "the boxes along; flip, crop and scale keep boxes, rotation does not).",
    )


class ImageSpec(StrictModel):
    """How images are sized and augmented."""

    size: list[int] | None = Field(
        default=None,
        min_length=2,
        max_length=2,
        description="[height, width] every image is resized to; default the most common "
        "size among the training images.",
    )
    channels: Literal[1, 3] | None = Field(
        default=None, description="1 (grey) or 3 (RGB); default 3 if any image is in colour."
    )
    augment: AugmentSpec | None = Field(default=None, description="Training augmentation.")

    @model_validator(mode="after")
    def _check(self) -> ImageSpec:
        if self.size is not None and min(self.size) < 1:
            raise PydanticCustomError("bad_size", "image.size must be positive [height, width]", {})
        return self


class TableSpec(StrictModel):
    """How table columns are encoded (fitted on the training split)."""

    impute: Literal["median", "mean", "zero"] = Field(
        default="median", description="Fill for missing numbers."
    )
    categorical: Literal["onehot", "index"] = Field(
        default="onehot", description="One-hot columns or one category-index column."
    )
    max_categories: int = Field(
        default=50, ge=1, le=10_000, description="One-hot keeps this many most frequent values."
    )


class TextSpec(StrictModel):
    """How text becomes token sequences (vocabulary fitted on the training split)."""

    level: Literal["char", "word"] = Field(default="char", description="Token unit.")
    length: int | None = Field(
        default=None,
        ge=1,
        le=16_384,
        description="Tokens per sample; default 64 for language models and, for text "
        "classification, the 95th percentile of the training documents' lengths (at most 256 "
        "words or 1,024 characters). Longer documents are cut, shorter ones padded.",
    )
    stride: int | None = Field(
        default=None, ge=1, description="Tokens between sample starts; default the length."
    )
    lowercase: bool = Field(default=False, description="Lower-case text first.")
    min_count: int = Field(default=1, ge=1, description="Rarer tokens become <unk>.")
    max_vocab: int | None = Field(default=None, ge=3, description="Largest vocabulary.")


class WindowSpec(StrictModel):
    """Sliding windows over a time series."""

    length: int = Field(default=32, ge=1, le=100_000, description="Input steps per window.")
    horizon: int = Field(default=1, ge=1, le=10_000, description="Steps to forecast.")
    stride: int = Field(default=1, ge=1, description="Steps between window starts.")


class LogSpec(StrictModel):
    """How sessions of log keys become next-key samples (DeepLog's window ``h``)."""

    window: int = Field(
        default=10, ge=1, le=1_000, description="Keys before a position that predict it (h)."
    )
    end: bool = Field(
        default=True,
        description="Predict the end of each session too, so a session that breaks off "
        "where normal ones go on is unexpected (keep it off for logs cut at arbitrary points).",
    )
    split_by: Literal["session", "sequence"] = Field(
        default="session",
        description="Unit of the split of normal sessions: session (each block whole in one "
        "split) or sequence (every session with the same key sequence in one split, so no "
        "test sequence was seen verbatim in training). Anomalous sessions are only tested.",
    )


class BatchingSpec(StrictModel):
    """In-memory tensors or streaming through DataLoader workers."""

    mode: Literal["auto", "memory", "stream"] = Field(
        default="auto",
        description="auto: memory when the prepared data fits in memory_limit_mb, else stream.",
    )
    workers: int = Field(default=2, ge=0, le=64, description="DataLoader workers (stream).")
    memory_limit_mb: int = Field(
        default=4096, ge=1, description="Largest prepared size held as tensors (auto)."
    )


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
    split: SplitSpec = Field(
        default_factory=SplitSpec,
        description="Validation / test shares and method; 'none' trains on every sample.",
    )
    normalize: Literal["auto", "standard", "minmax", "symmetric", "imagenet", "none"] = Field(
        default="auto",
        description="Input scaling fitted on the training split only: standard (mean 0, std "
        "1), minmax ([0, 1]), symmetric ([-1, 1]) or none; auto is symmetric for image "
        "generation (a tanh generator), imagenet (ImageNet's fixed RGB mean and std) for a "
        "pretrained network and standard otherwise.",
    )
    subset: SubsetSpec | None = None
    classes: list[int | str] | None = Field(
        default=None,
        min_length=2,
        description="Keep only these classes of a labelled dataset (names, or indices as "
        "integers), relabelled 0..k-1 in this order, e.g. [0, 1, 2, 3, 4] for MNIST's digits "
        "0-4; an unknown class is an error naming the valid ones.",
    )
    task: (
        Literal["classification", "regression", "reconstruction", "generation", "detection"] | None
    ) = Field(
        default=None,
        description="Use the dataset for another task: generation or reconstruction of "
        "images, reconstruction of series, classification or regression of a table target; "
        "detection needs a dataset with boxes.",
    )
    series: str | None = Field(default=None, description="Which series of a multi-series set.")
    image: ImageSpec = Field(default_factory=ImageSpec)
    table: TableSpec = Field(default_factory=TableSpec)
    text: TextSpec = Field(default_factory=TextSpec)
    window: WindowSpec = Field(default_factory=WindowSpec)
    log: LogSpec = Field(default_factory=LogSpec)
    scale_target: Literal["auto", "standard", "none"] = Field(
        default="auto",
        description="Standardize regression/forecast targets with training statistics, so "
        "that the loss is on the standardized target (auto and standard: yes; none: the "
        "target's own units); metrics and predictions are in the target's own units.",
    )
    batching: BatchingSpec = Field(default_factory=BatchingSpec)
    shorthand = "dataset"

    @field_validator("split", mode="before")
    @classmethod
    def _no_split(cls, value: object) -> object:
        # ``split: none`` (or YAML's null): nothing held out, every sample trains.
        if value is None or (isinstance(value, str) and value.strip().lower() == "none"):
            return {"val": 0, "test": 0}
        return value
