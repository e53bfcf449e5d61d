"""Input drift: how far the inputs a model is served have moved from its training split.

The reference is what the model package records about its preprocessing: the ``standardize``
step holds the training split's mean and standard deviation per table column or per image
channel. Served inputs are put through the package's own input steps up to that one, so each
value is in training standard deviations from the training mean; a sketch keeps, per feature
or channel, the count, sum and sum of squares of those values (memory bounded by the number
of features, whatever the traffic), and sketches of minutes add up to any window's.

The score is the **standardized mean difference** ``|mean_served - mean_train| / std_train``
(Cohen's d against the training spread), with the thresholds used to judge covariate balance
(Austin 2009, "Balance diagnostics ...", Stat. Med. 28; Stuart 2010, Stat. Sci. 25):
below 0.1 the feature is ``stable``, from 0.1 ``watch``, from 0.25 ``drifted``. The ratio of
standard deviations is reported beside it (1 when the spread is the training one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # torch is imported where inputs need its steps, not by the API's startup
    from athanor.data.preprocessing import Step

WATCH = 0.1
"""From this standardized mean difference on, a feature is worth watching."""
DRIFTED = 0.25
"""From this standardized mean difference on, a feature has drifted."""
SCORE = "standardized_mean_difference"
MAX_SAMPLES_PER_MINUTE = 4096
"""Samples sketched per deployment and minute at most (beyond, requests are only counted),
bounding the extra preprocessing work whatever the traffic."""


def drift_state(score: float | None) -> str | None:
    """``stable``, ``watch`` or ``drifted`` for a score (None without one)."""
    if score is None:
        return None
    return "drifted" if score >= DRIFTED else "watch" if score >= WATCH else "stable"


@dataclass(frozen=True)
class DriftReference:
    """How a model's served inputs are compared with its training split.

    ``features`` names the table's (encoded) columns or the image's channels; ``steps`` are
    the package's input steps before the training-fitted ``standardize``, whose ``mean`` and
    ``std`` (one per feature) are applied here with NumPy; ``scale`` is set when those steps
    only cast and scale (the usual case), which is then done with NumPy too.
    """

    features: list[str]
    per: str
    steps: list[Step]
    mean: np.ndarray
    std: np.ndarray
    scale: float | None

    @classmethod
    def of(cls, predictor: Any) -> DriftReference | str:
        """The reference of a :class:`~athanor.serve.predictor.Predictor`, or why it has none."""
        from athanor.data.preprocessing import Standardize, ToFloat

        kind = predictor.schema.input.kind
        if kind not in ("tabular", "image"):
            return f"drift is measured for tables and images; this model's inputs are {kind}"
        steps: list[Step] = []
        for step in predictor.preprocessor.input_steps:
            if isinstance(step, Standardize):
                if step.fixed or step.mean is None:
                    return (
                        "the model normalizes with fixed statistics (e.g. ImageNet's), not its "
                        "training split's"
                    )
                count = len(step.mean)
                if kind == "image":
                    names = [f"channel {index}" for index in range(count)]
                else:
                    names = list(predictor.schema.input.features or [])
                    if len(names) != count:
                        names = [f"x{index}" for index in range(count)]
                scale: float | None = 1.0
                for before in steps:
                    scale = scale * before.scale if isinstance(before, ToFloat) and scale else None
                return cls(
                    names,
                    "channel" if kind == "image" else "column",
                    steps,
                    np.asarray(step.mean, dtype=np.float64)[:, None],
                    np.asarray(step.std, dtype=np.float64)[:, None],
                    scale,
                )
            steps.append(step)
        return (
            "the model records no training statistics (it was trained with "
            "data.normalize other than standard or auto)"
        )

    def sketch(self, raw: np.ndarray) -> InputSketch:
        """The sketch of a raw batch (as the predictor parses requests)."""
        if self.scale is not None:  # NumPy alone: torch's per-call overhead dwarfs a request
            values = np.asarray(raw, dtype=np.float64) * self.scale
        else:
            values = _through(self.steps, raw)
        if self.per == "channel" and values.ndim > 2:
            values = np.moveaxis(values, 1, 0).reshape(values.shape[1], -1)
        else:
            values = values.reshape(len(values), -1).T
        standardized = (values - self.mean) / self.std
        present = ~np.isnan(standardized)
        clean = np.where(present, standardized, 0.0)
        return InputSketch(
            features=list(self.features),
            samples=len(raw),
            count=present.sum(axis=1).tolist(),
            total=clean.sum(axis=1).tolist(),
            squares=np.einsum("ij,ij->i", clean, clean).tolist(),
        )


def _through(steps: list[Step], raw: Any) -> np.ndarray:
    """``raw`` through the preprocessing ``steps`` (e.g. a typed table's encoding)."""
    import torch

    def tensor(x: Any) -> torch.Tensor:
        return x if isinstance(x, torch.Tensor) else torch.from_numpy(np.asarray(x))

    x: Any = raw
    for step in steps:
        x = step.transform(x if step.accepts_raw else tensor(x))
    return tensor(x).detach().cpu().numpy().astype(np.float64)


@dataclass
class InputSketch:
    """Per feature: how many values, their sum and sum of squares (standardized units)."""

    features: list[str]
    samples: int
    count: list[int]
    total: list[float]
    squares: list[float]

    def add(self, other: InputSketch) -> bool:
        """Add ``other`` in place; False (nothing added) when its features differ."""
        if other.features != self.features:
            return False
        self.samples += other.samples
        self.count = [a + b for a, b in zip(self.count, other.count, strict=True)]
        self.total = [a + b for a, b in zip(self.total, other.total, strict=True)]
        self.squares = [a + b for a, b in zip(self.squares, other.squares, strict=True)]
        return True

    @classmethod
    def empty(cls, features: list[str]) -> InputSketch:
        """A sketch of no inputs yet."""
        size = len(features)
        return cls(list(features), 0, [0] * size, [0.0] * size, [0.0] * size)

    def to_json(self) -> dict[str, Any]:
        return {
            "features": self.features,
            "samples": self.samples,
            "count": self.count,
            "sum": self.total,
            "sum_squares": self.squares,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InputSketch:
        return cls(
            features=list(data["features"]),
            samples=int(data["samples"]),
            count=[int(v) for v in data["count"]],
            total=[float(v) for v in data["sum"]],
            squares=[float(v) for v in data["sum_squares"]],
        )

    def scores(self) -> list[dict[str, Any]]:
        """Per feature: ``score`` (the standardized mean difference), ``state``, the served
        ``mean`` and ``std`` in training standard deviations, and ``values`` counted."""
        result = []
        for name, count, total, squares in zip(
            self.features, self.count, self.total, self.squares, strict=True
        ):
            if count == 0:
                mean = std = score = None
            else:
                mean = total / count
                std = math.sqrt(max(squares / count - mean * mean, 0.0))
                score = abs(mean)
            result.append(
                {
                    "feature": name,
                    "score": _rounded(score),
                    "state": drift_state(score),
                    "mean": _rounded(mean),
                    "std": _rounded(std),
                    "values": count,
                }
            )
        return result


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
