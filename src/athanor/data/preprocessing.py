"""Input preprocessing fitted on the training split only and replayed at prediction.

A :class:`Preprocessor` is a list of steps. Each step is fitted on training inputs, transforms
any batch the same way, and saves its state as plain JSON (never pickle) in model packages.

Steps that take raw inputs (table rows, text) come first and produce tensors; the others
take tensors. Steps whose ``role`` is ``target`` scale regression and forecast targets: they
are fitted on the training targets and inverted on the network's outputs at prediction.
"""

from __future__ import annotations

import importlib
from typing import Any, ClassVar

import numpy as np
import torch

from athanor.errors import DataError

_STEPS: dict[str, type[Step]] = {}
# Modules that register more steps; imported before a saved preprocessor is rebuilt.
_STEP_MODULES = ("athanor.data.encoding", "athanor.data.text", "athanor.data.log_windows")


def register_step(cls: type[Step]) -> type[Step]:
    _STEPS[cls.kind] = cls
    return cls


class Step:
    """One preprocessing step."""

    kind: ClassVar[str]
    accepts_raw: ClassVar[bool] = False
    """Whether the step takes raw inputs (tables, strings) rather than tensors."""
    role: ClassVar[str] = "input"

    def fit(self, x: torch.Tensor) -> None:
        """Learn statistics from training inputs."""

    in_place: ClassVar[bool] = False
    """Whether :meth:`transform_owned` changes its input in place (so the result is as
    much the caller's own as the input was)."""

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def gives_new(self, x: torch.Tensor) -> bool:
        """Whether ``transform(x)`` always returns a new tensor, sharing no memory with ``x``."""
        return False

    def transform_owned(self, x: torch.Tensor) -> torch.Tensor:
        """``transform`` of a tensor nothing else holds: steps with ``in_place`` reuse it."""
        return self.transform(x)

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
        if self.scale == 1.0:
            return x.to(torch.float32)
        if x.dtype == torch.float32:
            return x * self.scale
        # The cast made a new tensor: scale it in place (a batch of large images is tens of
        # megabytes; one pass and one allocation fewer).
        return x.to(torch.float32).mul_(self.scale)

    in_place = True

    def gives_new(self, x: torch.Tensor) -> bool:
        return self.scale != 1.0 or x.dtype != torch.float32

    def transform_owned(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype != torch.float32 or self.scale == 1.0:
            return self.transform(x)
        return x.mul_(self.scale)

    def state(self) -> dict[str, Any]:
        return {"scale": self.scale}


def _reduce_dims(x: torch.Tensor, per: str) -> tuple[int, ...]:
    # Statistics per channel for images ([N, C, ...]), per column for tables ([N, F]).
    if per == "channel" and x.dim() > 2:
        return (0, *range(2, x.dim()))
    if per == "global":
        return tuple(range(x.dim()))
    if per == "feature":  # sequences [N, steps, features]: one statistic per feature
        return tuple(range(x.dim() - 1))
    return (0,)


def _shaped(values: list[float], like: torch.Tensor, per: str) -> torch.Tensor:
    tensor = torch.tensor(values, dtype=torch.float32, device=like.device)
    if per == "channel" and like.dim() > 2:
        return tensor.view(1, -1, *([1] * (like.dim() - 2)))
    if per == "column" and like.dim() > 2:
        return tensor.view(like.shape[1:])
    return tensor


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
"""The RGB statistics ImageNet-pretrained networks were trained with (torchvision, timm)."""


@register_step
class Standardize(Step):
    """``(x - mean) / std`` with statistics of the training split (per channel or column)."""

    kind = "standardize"

    def __init__(
        self,
        per: str = "channel",
        mean: list[float] | None = None,
        std: list[float] | None = None,
        fixed: bool = False,
    ) -> None:
        self.per = per
        self.mean = mean
        self.std = std
        self.fixed = fixed
        """Keep the given statistics (e.g. ImageNet's for a pretrained network) instead of
        fitting them on the training split."""

    def fit(self, x: torch.Tensor) -> None:
        if self.fixed:
            return
        dims = _reduce_dims(x, self.per)
        var, mean = torch.var_mean(x.to(torch.float32), dim=dims, correction=0)
        std = var.sqrt()
        std = torch.where(std > 1e-12, std, torch.ones_like(std))  # constant columns stay put
        self.mean = mean.reshape(-1).tolist()
        self.std = std.reshape(-1).tolist()

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        if self.mean is None or self.std is None:
            raise RuntimeError("Standardize used before fit")
        # The subtraction makes a new tensor; dividing it in place saves a pass and a copy.
        return (x - _shaped(self.mean, x, self.per)).div_(_shaped(self.std, x, self.per))

    in_place = True

    def gives_new(self, x: torch.Tensor) -> bool:
        return True

    def transform_owned(self, x: torch.Tensor) -> torch.Tensor:
        if self.mean is None or self.std is None:
            raise RuntimeError("Standardize used before fit")
        mean, std = _shaped(self.mean, x, self.per), _shaped(self.std, x, self.per)
        if not x.is_floating_point() or torch.broadcast_shapes(x.shape, mean.shape) != x.shape:
            return self.transform(x)
        # The same operations as transform, so the same values, without a new batch-sized
        # tensor (for a batch of large images its allocation costs as much as the arithmetic).
        return x.sub_(mean).div_(std)

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"per": self.per, "mean": self.mean, "std": self.std}
        return state | ({"fixed": True} if self.fixed else {})


@register_step
class MinMax(Step):
    """Scale to [0, 1] (or [-1, 1] when ``symmetric``) with the training split's minimum and
    maximum."""

    kind = "minmax"

    def __init__(
        self,
        per: str = "channel",
        low: list[float] | None = None,
        high: list[float] | None = None,
        symmetric: bool = False,
    ) -> None:
        self.per = per
        self.low = low
        self.high = high
        self.symmetric = symmetric

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
        unit = (x - low) / (_shaped(self.high, x, self.per) - low)
        return unit * 2 - 1 if self.symmetric else unit

    def state(self) -> dict[str, Any]:
        return {"per": self.per, "low": self.low, "high": self.high, "symmetric": self.symmetric}


@register_step
class TargetStandardize(Step):
    """Targets to mean 0, std 1 per target with training statistics; inverted at prediction.

    ``mean``/``std`` are per target column (the last axis of ``[N, targets]`` or
    ``[N, horizon, targets]``).
    """

    kind = "target_standardize"
    role = "target"

    def __init__(self, mean: list[float] | None = None, std: list[float] | None = None) -> None:
        self.mean = mean
        self.std = std

    def fit(self, x: torch.Tensor) -> None:
        values = x.to(torch.float64).reshape(-1, x.shape[-1])
        var, mean = torch.var_mean(values, dim=0, correction=0)
        std = var.sqrt()
        self.mean = mean.tolist()
        self.std = torch.where(std > 1e-12, std, torch.ones_like(std)).tolist()

    def _stats(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.mean is None or self.std is None:
            raise RuntimeError("TargetStandardize used before fit")
        mean = torch.tensor(self.mean, dtype=torch.float32, device=like.device)
        std = torch.tensor(self.std, dtype=torch.float32, device=like.device)
        return mean, std

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        mean, std = self._stats(x)
        return (x.to(torch.float32) - mean) / std

    def inverse(self, x: torch.Tensor) -> torch.Tensor:
        mean, std = self._stats(x)
        return x * std + mean

    def state(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std}


def _as_tensor(x: Any) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x
    if isinstance(x, np.ndarray) and x.dtype.kind in "biuf":
        return torch.from_numpy(np.ascontiguousarray(x))
    raise DataError(
        f"this model takes numeric arrays; got {type(x).__name__}"
        + (f" of {x.dtype}" if isinstance(x, np.ndarray) else "")
    )


class Preprocessor:
    """An ordered list of steps, fitted together on training inputs (and targets)."""

    def __init__(self, steps: list[Step]) -> None:
        self.steps = steps

    @property
    def input_steps(self) -> list[Step]:
        return [step for step in self.steps if step.role == "input"]

    @property
    def target_steps(self) -> list[Step]:
        return [step for step in self.steps if step.role == "target"]

    def fit(self, x: Any, y: torch.Tensor | None = None) -> Preprocessor:
        """Fit each input step on the output of the ones before it (target steps on ``y``)."""
        for step in self.input_steps:
            if not step.accepts_raw:
                x = _as_tensor(x)
            step.fit(x)
            x = step.transform(x)
        if y is not None:
            for step in self.target_steps:
                step.fit(y)
                y = step.transform(y)
        return self

    def transform(self, x: Any) -> torch.Tensor:
        """Raw inputs (arrays, tensors, tables, texts) -> the network's input tensor."""
        owned = False  # x is a tensor made by an earlier step, held by nothing else
        for step in self.input_steps:
            if not step.accepts_raw:
                x = _as_tensor(x)
            if owned and step.in_place:
                x = step.transform_owned(x)
                continue
            owned = isinstance(x, torch.Tensor) and step.gives_new(x)
            x = step.transform(x)
        return _as_tensor(x)

    def transform_target(self, y: torch.Tensor) -> torch.Tensor:
        """Training targets as the network learns them (scaled when a target step says so)."""
        for step in self.target_steps:
            y = step.transform(y)
        return y

    def inverse_target(self, y: torch.Tensor) -> torch.Tensor:
        """Network outputs back in the targets' own units."""
        for step in reversed(self.target_steps):
            y = step.inverse(y)  # type: ignore[attr-defined]
        return y

    def to_json(self) -> list[dict[str, Any]]:
        return [{"type": step.kind, **step.state()} for step in self.steps]

    @classmethod
    def from_json(cls, data: list[dict[str, Any]]) -> Preprocessor:
        for module in _STEP_MODULES:
            importlib.import_module(module)
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
    if normalize in ("standard", "auto"):
        steps.append(Standardize(per=per))
    elif normalize in ("minmax", "symmetric"):
        steps.append(MinMax(per=per, symmetric=normalize == "symmetric"))
    return Preprocessor(steps)
