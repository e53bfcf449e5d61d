"""Streaming metrics: updated per batch on the training device, read once per epoch.

Updates never call ``.item()``: values stay on the device until :meth:`Metric.compute`, so a
GPU is not synchronized every step.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from athanor.data.schema import Schema
from athanor.errors import UserError

_METRICS: dict[str, type[Metric]] = {}


def register_metric(cls: type[Metric]) -> type[Metric]:
    _METRICS[cls.name] = cls
    return cls


class Metric:
    """Accumulates over batches; ``higher_is_better`` tells early stopping which way to go."""

    name: ClassVar[str]
    higher_is_better: ClassVar[bool] = False
    tasks: ClassVar[tuple[str, ...]] = ("classification", "regression")

    def reset(self) -> None:
        raise NotImplementedError

    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        raise NotImplementedError

    def compute(self) -> float:
        raise NotImplementedError


@register_metric
class Accuracy(Metric):
    """Share of samples whose highest-scoring class is the target."""

    name = "accuracy"
    higher_is_better = True
    tasks = ("classification",)

    def reset(self) -> None:
        self.correct: torch.Tensor | int = 0
        self.total = 0

    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        self.correct = self.correct + (outputs.argmax(dim=1) == targets).sum()
        self.total += targets.shape[0]

    def compute(self) -> float:
        return float(self.correct) / max(self.total, 1)


class _ErrorSums(Metric):
    tasks = ("regression",)

    def reset(self) -> None:
        self.sums: torch.Tensor | None = None  # [sum err^2, sum |err|, sum y, sum y^2]
        self.count = 0

    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        error = outputs.detach().float() - targets.float()
        y = targets.float()
        batch = torch.stack([error.square().sum(), error.abs().sum(), y.sum(), y.square().sum()])
        self.sums = batch if self.sums is None else self.sums + batch
        self.count += targets.numel()

    def _values(self) -> list[float]:
        if self.sums is None or self.count == 0:
            return [float("nan")] * 4
        return [float(v) for v in self.sums.double().cpu()]


@register_metric
class MSE(_ErrorSums):
    name = "mse"

    def compute(self) -> float:
        return self._values()[0] / max(self.count, 1)


@register_metric
class RMSE(_ErrorSums):
    name = "rmse"

    def compute(self) -> float:
        return (self._values()[0] / max(self.count, 1)) ** 0.5


@register_metric
class MAE(_ErrorSums):
    name = "mae"

    def compute(self) -> float:
        return self._values()[1] / max(self.count, 1)


@register_metric
class R2(_ErrorSums):
    """Coefficient of determination, 1 - SSE / SST (over all target values together)."""

    name = "r2"
    higher_is_better = True

    def compute(self) -> float:
        sse, _, total, squares = self._values()
        n = max(self.count, 1)
        sst = squares - total * total / n
        return 1.0 - sse / sst if sst > 0 else float("nan")


def default_metric_names(schema: Schema) -> list[str]:
    return ["accuracy"] if schema.task == "classification" else ["rmse", "mae", "r2"]


def build_metrics(names: list[str] | None, schema: Schema) -> list[Metric]:
    """Fresh metric objects for ``names`` (default by task), checked against the task.

    Raises:
        UserError: a metric that does not fit the task.
    """
    metrics = []
    for name in names or default_metric_names(schema):
        cls = _METRICS[name]
        if schema.task not in cls.tasks:
            valid = [n for n, c in _METRICS.items() if schema.task in c.tasks]
            raise UserError(
                f"train.metrics: '{name}' does not fit {schema.task}; valid: {', '.join(valid)}"
            )
        metric = cls()
        metric.reset()
        metrics.append(metric)
    return metrics


def higher_is_better(name: str) -> bool:
    """Whether a larger value of metric ``name`` (without split prefix) is better."""
    cls = _METRICS.get(name)
    return bool(cls and cls.higher_is_better)
