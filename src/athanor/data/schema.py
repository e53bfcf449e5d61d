"""What a prepared dataset looks like to a network and to a predictor; stored with models.

The contract between data, networks, training loops and predictors. One sample's tensors,
without the batch dimension:

========== ====================================== ==========================================
kind       input ``x``                            meaning
========== ====================================== ==========================================
image      float32 ``[channels, height, width]``  pixels after preprocessing
tabular    float32 ``[features]``                 columns after imputation/encoding/scaling
sequence   float32 ``[steps, features]``          a window of a time series (or any sequence)
tokens     int64 ``[steps]``                      indices into ``input.vocab``
========== ====================================== ==========================================

============== ============================ =============================== ==================
task           target ``y``                 network output                  loss (default)
============== ============================ =============================== ==================
classification int64 ``[]`` (class index)   ``[classes]`` logits            cross_entropy
regression     float32 ``[targets]``        ``[targets]``                   mse
forecasting    float32 ``[horizon, targets]`` ``[horizon, targets]``        mse
language_model int64 ``[steps]`` (next token) ``[steps, vocab]`` logits     cross_entropy
reconstruction same as ``x``                same shape as ``x``             mse
generation     none (images only)           generator: ``x``'s shape        GAN losses
detection      float32 ``[M, 5]`` boxes     ``[classes + 4, H/4, W/4]`` maps centernet
next_key       int64 ``[]`` (next log key)  ``[keys]`` logits               cross_entropy
============== ============================ =============================== ==================

A ``next_key`` sample is a window of the ``h`` log keys before a position of a session (kind
``tokens``, ``input.vocab`` the keys, index 0 for padding and unknown lines); the raw
dataset's kind is ``logs`` (sessions of keys, see :mod:`athanor.data.log_sessions`).

A detection target holds up to ``M`` rows ``(class, x0, y0, x1, y1)`` in input pixels, class
-1 on unused rows (see :mod:`athanor.data.box_targets`); the network outputs, at a quarter of
the input's resolution, a heatmap logit per class, then box width and height and the
center's sub-cell offset (see :mod:`athanor.nets.detection`).

A generation batch carries a ``float32 [batch, 0]`` target, so that ``y.shape[0]`` still
counts the samples; a reconstruction batch's ``y`` is the very tensor ``x``.

Tables imported from CSV/Parquet keep their raw columns in ``input.columns`` (name and type);
predictors take rows with those columns (categorical values, missing cells) and the saved
preprocessing turns them into the ``[features]`` the network sees.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Task = Literal[
    "classification",
    "regression",
    "forecasting",
    "language_model",
    "reconstruction",
    "generation",
    "detection",
    "next_key",
]
InputKind = Literal["image", "tabular", "sequence", "tokens", "logs"]
DETECTION_STRIDE = 4
"""Input pixels per cell of a detector's output maps."""
ColumnType = Literal["numeric", "categorical", "boolean", "datetime", "text"]


class ColumnSchema(BaseModel):
    """One raw column of a table, as imported (before encoding)."""

    name: str
    type: ColumnType


class InputSchema(BaseModel):
    """The inputs of one sample.

    ``shape`` is what the network receives (after preprocessing), without the batch
    dimension (see the module docstring for each kind).
    """

    kind: InputKind
    shape: list[int]
    features: list[str] | None = Field(
        default=None, description="Names of the input columns (tables) or series (sequences)."
    )
    background: Literal["dark", "light"] | None = Field(
        default=None,
        description="Typical border brightness of training images; prediction inverts "
        "images with the opposite background.",
    )
    vocab: list[str] | None = Field(
        default=None, description="Tokens by index, for kind 'tokens' (characters or words)."
    )
    columns: list[ColumnSchema] | None = Field(
        default=None,
        description="Raw columns a predictor takes (tables with categorical, boolean, datetime "
        "or missing values); ``features`` then names the encoded columns.",
    )

    @property
    def vocab_size(self) -> int:
        if not self.vocab:
            raise ValueError("this input has no vocabulary")
        return len(self.vocab)


class Schema(BaseModel):
    """Inputs, task and target of a dataset."""

    task: Task
    input: InputSchema
    target: str = "label"
    classes: list[str] | None = Field(default=None, description="Class names, by index.")
    targets: int = Field(default=1, ge=1, description="Values per step (regression/forecast).")
    horizon: int | None = Field(default=None, ge=1, description="Forecast steps ahead.")
    target_names: list[str] | None = Field(
        default=None, description="Names of the regression or forecast targets, in order."
    )
    single_logit: bool = Field(
        default=False,
        description="Two classes scored by one logit (models trained with a BCE loss).",
    )

    @property
    def output_shape(self) -> tuple[int, ...]:
        """Shape of the network's output for one sample."""
        if self.task == "classification":
            assert self.classes is not None
            return (1,) if self.single_logit else (len(self.classes),)
        if self.task == "regression":
            return (self.targets,)
        if self.task == "forecasting":
            assert self.horizon is not None
            return (self.horizon, self.targets)
        if self.task == "language_model":
            return (self.input.shape[0], self.input.vocab_size)
        if self.task == "next_key":
            return (self.input.vocab_size,)
        if self.task == "detection":
            assert self.classes is not None
            _, height, width = self.input.shape
            stride = DETECTION_STRIDE
            return (len(self.classes) + 4, height // stride, width // stride)
        return tuple(self.input.shape)  # reconstruction, generation

    @property
    def output_size(self) -> int:
        """Units of the output layer of a classifier or regressor."""
        shape = self.output_shape
        if len(shape) != 1:
            raise ValueError(f"a {self.task} output has the shape {list(shape)}, not one size")
        return shape[0]
