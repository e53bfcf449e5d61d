"""Input preprocessing fitted on the training split only and replayed at prediction.

A :class:`Preprocessor` is a list of steps. Each step is fitted on training inputs, transforms
any batch the same way, and saves its state as plain JSON (never pickle) in model packages.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from athanor.errors import DataError

_STEPS: dict[str, type[Step]] = {}


def register_step(cls: type[Step]) -> type[Step]:
    _STEPS[cls.kind] = cls
    return cls


class Step:
    """One preprocessing step."""

    kind: ClassVar[str]

    def fit(self, x: torch.Tensor) -> None:
        """Learn statistics from training inputs."""

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def state(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Step:
        return cls(**state)


@register_step
class ToFloat(Step):
    """Cast to float32, multiplying by ``scale`` (1/255 turns image bytes into [0, 1])."""

    kind = "to_float"

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = float(scale)

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(torch.float32)
        return x * self.scale if self.scale != 1.0 else x

    def state(self) -> dict[str, Any]:
        return {"scale": self.scale}


def _reduce_dims(x: torch.Tensor, per: str) -> tuple[int, ...]:
    # Statistics per channel for images ([N, C, ...]), per column for tables ([N, F]).
    if per == "channel" and x.dim() > 2:
        return (0, *range(2, x.dim()))
    if per == "global":
        return tuple(range(x.dim()))
    return (0,)


def _shaped(values: list[float], like: torch.Tensor, per: str) -> torch.Tensor:
    tensor = torch.tensor(values, dtype=torch.float32, device=like.device)
    if per == "channel" and like.dim() > 2:
        return tensor.view(1, -1, *([1] * (like.dim() - 2)))
    return tensor


@register_step
class Standardize(Step):
    """``(x - mean) / std`` with statistics of the training split (per channel or column)."""

    kind = "standardize"

    def __init__(
        self, per: str = "channel", mean: list[float] | None = None, std: list[float] | None = None
    ) -> None:
        self.per = per
        self.mean = mean
        self.std = std

    def fit(self, x: torch.Tensor) -> None:
        dims = _reduce_dims(x, self.per)
        var, mean = torch.var_mean(x.to(torch.float32), dim=dims, correction=0)
        std = var.sqrt()
        std = torch.where(std > 1e-12, std, torch.ones_like(std))  # constant columns stay put
        self.mean = mean.reshape(-1).tolist()
        self.std = std.reshape(-1).tolist()

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        if self.mean is None or self.std is None:
            raise RuntimeError("Standardize used before fit")
        return (x - _shaped(self.mean, x, self.per)) / _shaped(self.std, x, self.per)

    def state(self) -> dict[str, Any]:
        return {"per": self.per, "mean": self.mean, "std": self.std}


@register_step
class MinMax(Step):
    """Scale to [0, 1] with the training split's minimum and maximum."""

    kind = "minmax"

    def __init__(
        self, per: str = "channel", low: list[float] | None = None, high: list[float] | None = None
    ) -> None:
        self.per = per
        self.low = low
        self.high = high

    def fit(self, x: torch.Tensor) -> None:
        dims = _reduce_dims(x, self.per)
        low = torch.amin(x, dim=dims).to(torch.float64)
        high = torch.amax(x, dim=dims).to(torch.float64)
        self.low = low.reshape(-1).tolist()
        self.high = torch.where(high > low, high, low + 1).reshape(-1).tolist()

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        if self.low is None or self.high is None:
            raise RuntimeError("MinMax used before fit")
        low = _shaped(self.low, x, self.per)
        return (x - low) / (_shaped(self.high, x, self.per) - low)

    def state(self) -> dict[str, Any]:
        return {"per": self.per, "low": self.low, "high": self.high}


class Preprocessor:
    """An ordered list of steps, fitted together on training inputs."""

    def __init__(self, steps: list[Step]) -> None:
        self.steps = steps

    def fit(self, x: torch.Tensor) -> Preprocessor:
        """Fit each step on the output of the ones before it."""
        for step in self.steps:
            step.fit(x)
            x = step.transform(x)
        return self

    def transform(self, x: torch.Tensor | np.ndarray) -> torch.Tensor:
        if isinstance(x, np.ndarray):
            x = torch.from_numpy(np.ascontiguousarray(x))
        for step in self.steps:
            x = step.transform(x)
        return x

    def to_json(self) -> list[dict[str, Any]]:
        return [{"type": step.kind, **step.state()} for step in self.steps]

    @classmethod
    def from_json(cls, data: list[dict[str, Any]]) -> Preprocessor:
        steps = []
        for item in data:
            state = dict(item)
            kind = state.pop("type", None)
            if kind not in _STEPS:
                raise DataError(f"unknown preprocessing step {kind!r} in a saved model")
            steps.append(_STEPS[kind].from_state(state))
        return cls(steps)


def default_preprocessor(kind: str, normalize: str, raw_dtype: np.dtype) -> Preprocessor:
    """The steps for an input kind: images become floats in [0, 1], then ``normalize``."""
    steps: list[Step] = [ToFloat(1 / 255 if raw_dtype == np.uint8 else 1.0)]
    per = "channel" if kind == "image" else "column"
    if normalize == "standard":
        steps.append(Standardize(per=per))
    elif normalize == "minmax":
        steps.append(MinMax(per=per))
    return Preprocessor(steps)
