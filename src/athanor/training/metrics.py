"""Streaming metrics: updated per batch on the training device, read once per epoch.

Updates never call ``.item()``: values stay on the device until :meth:`Metric.compute`, so a
GPU is not synchronized every step. Every metric's accumulated state is part of a checkpoint
(``state_dict``/``load_state_dict``), so a run resumed mid-epoch reports the same numbers.

Classification outputs are logits ``[B, classes]``, or one logit ``[B, 1]`` for a binary model
trained with BCE; language-model outputs are ``[B, T, vocab]`` with targets ``[B, T]``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from torch.nn import functional

from athanor.data.schema import Schema
from athanor.errors import UserError
from athanor.spec.train import TOP_K

_METRICS: dict[str, type[Metric]] = {}
CLASS_TASKS = ("classification", "language_model", "next_key")
VALUE_TASKS = ("regression", "forecasting", "reconstruction")


def register_metric(cls: type[Metric]) -> type[Metric]:
    _METRICS[cls.name] = cls
    return cls


def class_view(outputs: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(scores [N, classes], targets [N])``: positions flattened, one logit made two."""
    if outputs.dim() == 3:
        outputs = outputs.reshape(-1, outputs.shape[-1])
        targets = targets.reshape(-1)
    if outputs.shape[-1] == 1:  # a single binary logit: log-odds of class 1
        outputs = torch.cat([torch.zeros_like(outputs), outputs], dim=1)
    return outputs.detach().float(), targets


class Metric:
    """Accumulates over batches; ``higher_is_better`` tells early stopping which way to go."""

    name: ClassVar[str]
    higher_is_better: ClassVar[bool] = False
    tasks: ClassVar[tuple[str, ...]] = ()
    scalar: ClassVar[bool] = True
    per_sample: ClassVar[bool] = False
    """Whether the state keeps values per sample (joined across ranks, not summed)."""
    on_training_batches: ClassVar[bool] = True
    """Whether the training loop also reports it on the training batches. An evaluation-only
    metric (COCO mAP) is measured on validation and test data alone: its work per epoch would
    otherwise be a large share of a small detector's training time."""
    _state: ClassVar[tuple[str, ...]] = ()

    def bind(self, siblings: list[Metric]) -> None:
        """Called once with every metric built with this one for a split: a metric may share
        work with its siblings (the detection metrics decode and evaluate once)."""

    def reset(self) -> None:
        raise NotImplementedError

    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        raise NotImplementedError

    def compute(self) -> Any:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self._state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key in self._state:  # copies: sums are updated in place afterwards
            value = state[key]
            setattr(self, key, value.clone() if isinstance(value, torch.Tensor) else value)


@register_metric
class Accuracy(Metric):
    """Share of samples (or tokens) whose highest-scoring class is the target."""

    name = "accuracy"
    higher_is_better = True
    tasks = CLASS_TASKS
    _state = ("correct", "total")

    def reset(self) -> None:
        self.correct: torch.Tensor | int = 0
        self.total = 0

    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        scores, targets = class_view(outputs, targets)
        hits = (scores.argmax(dim=1) == targets).sum()
        if isinstance(self.correct, torch.Tensor):
            self.correct.add_(hits)  # in place: no new tensor per batch
        else:
            self.correct = hits
        self.total += targets.shape[0]

    def compute(self) -> float:
        return float(self.correct) / max(self.total, 1)


class TopKAccuracy(Metric):
    """Share of samples whose target is among the ``k`` highest-scoring classes."""

    higher_is_better = True
    tasks = CLASS_TASKS
    _state = ("correct", "total")

    def __init__(self, k: int) -> None:
        self.k = k
        self.name = f"top{k}_accuracy"  # type: ignore[misc]

    def reset(self) -> None:
        self.correct: torch.Tensor | int = 0
        self.total = 0

    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        scores, targets = class_view(outputs, targets)
        k = min(self.k, scores.shape[1])
        top = scores.topk(k, dim=1).indices
        self.correct = self.correct + (top == targets[:, None]).any(dim=1).sum()
        self.total += targets.shape[0]

    def compute(self) -> float:
        return float(self.correct) / max(self.total, 1)


class _Confusion(Metric):
    """A confusion matrix accumulated on the device (rows: true class, columns: predicted)."""

    tasks = ("classification",)
    higher_is_better = True
    _state = ("matrix",)

    def reset(self) -> None:
        self.matrix: torch.Tensor | None = None

    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        scores, targets = class_view(outputs, targets)
        classes = scores.shape[1]
        index = targets * classes + scores.argmax(dim=1)
        counts = torch.bincount(index, minlength=classes * classes).view(classes, classes)
        self.matrix = counts if self.matrix is None else self.matrix + counts

    def _counts(self) -> np.ndarray:
        return np.zeros((0, 0)) if self.matrix is None else self.matrix.cpu().numpy()


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.divide(
        numerator, denominator, out=np.zeros_like(numerator, dtype=float), where=denominator > 0
    )


def _scores(matrix: np.ndarray, kind: str, average: str) -> float:
    tp = np.diag(matrix).astype(float)
    predicted = matrix.sum(axis=0).astype(float)
    actual = matrix.sum(axis=1).astype(float)
    if average == "micro":  # single-label: every micro average equals accuracy
        return float(tp.sum() / max(matrix.sum(), 1))
    precision = _ratio(tp, predicted)
    recall = _ratio(tp, actual)
    if kind == "precision":
        per_class = precision
    elif kind == "recall":
        per_class = recall
    else:
        per_class = _ratio(2 * precision * recall, precision + recall)
    return float(per_class.mean()) if len(per_class) else float("nan")


def _confusion_metric(kind: str, average: str) -> type[Metric]:
    class Score(_Confusion):
        name = f"{kind}_{average}"

        def compute(self) -> float:
            return _scores(self._counts(), kind, average)

    Score.__name__ = f"{kind.title()}{average.title()}"
    Score.__doc__ = f"{kind} averaged {average} over classes (as scikit-learn, zero for 0/0)."
    return Score


for _kind in ("precision", "recall", "f1"):
    for _average in ("macro", "micro"):
        register_metric(_confusion_metric(_kind, _average))


@register_metric
class ConfusionMatrix(_Confusion):
    """Counts by (true class, predicted class); kept in the run summary, not as a curve."""

    name = "confusion_matrix"
    scalar = False

    def compute(self) -> list[list[int]]:
        return self._counts().astype(int).tolist()


def _ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (1-based) with ties sharing their mean rank."""
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values), dtype=float)
    sorted_values = values[order]
    boundaries = np.flatnonzero(np.diff(sorted_values)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(values)]])
    for start, end in zip(starts, ends, strict=True):
        ranks[order[start:end]] = (start + end + 1) / 2.0
    return ranks


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U; equal to the trapezoidal ROC area)."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = _ranks(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_precision(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the precision-recall curve as a step sum (scikit-learn's definition)."""
    if not positive.any():
        return float("nan")
    order = np.argsort(-scores, kind="mergesort")
    ranked, labels = scores[order], positive[order].astype(float)
    last_of_each = np.concatenate([np.flatnonzero(np.diff(ranked)), [len(ranked) - 1]])
    true_positives = np.cumsum(labels)[last_of_each]
    precision = true_positives / (last_of_each + 1)
    recall = true_positives / true_positives[-1]
    return float(np.sum(np.diff(np.concatenate([[0.0], recall])) * precision))


class _RankingMetric(Metric):
    """Keeps every probability of the split (small for validation sets) until compute."""

    tasks = ("classification",)
    higher_is_better = True
    per_sample = True
    _state = ("probabilities", "targets")

    def reset(self) -> None:
        self.probabilities: list[torch.Tensor] = []
        self.targets: list[torch.Tensor] = []

    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        scores, targets = class_view(outputs, targets)
        self.probabilities.append(torch.softmax(scores, dim=1))
        self.targets.append(targets)

    def state_dict(self) -> dict[str, Any]:
        if not self.probabilities:
            return {"probabilities": None, "targets": None}
        return {
            "probabilities": torch.cat(self.probabilities),
            "targets": torch.cat(self.targets),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.reset()
        if state["probabilities"] is not None:
            self.probabilities.append(state["probabilities"])
            self.targets.append(state["targets"])

    def _per_class(self, score: Any) -> float:
        if not self.probabilities:
            return float("nan")
        probabilities = torch.cat(self.probabilities).cpu().double().numpy()
        targets = torch.cat(self.targets).cpu().numpy()
        if probabilities.shape[1] == 2:  # binary: the positive class only
            return score(probabilities[:, 1], targets == 1)
        values = [score(probabilities[:, c], targets == c) for c in range(probabilities.shape[1])]
        present = [v for v in values if not np.isnan(v)]
        return float(np.mean(present)) if present else float("nan")


@register_metric
class RocAuc(_RankingMetric):
    """ROC-AUC; one-vs-rest, averaged over classes, for more than two classes."""

    name = "roc_auc"

    def compute(self) -> float:
        return self._per_class(roc_auc)


@register_metric
class PrAuc(_RankingMetric):
    """Average precision (PR-AUC); one-vs-rest, averaged over classes, beyond two classes."""

    name = "pr_auc"

    def compute(self) -> float:
        return self._per_class(average_precision)


@register_metric
class Perplexity(Metric):
    """exp(mean cross-entropy per token) of a language model."""

    name = "perplexity"
    tasks = ("language_model",)
    _state = ("total", "count")

    def reset(self) -> None:
        self.total: torch.Tensor | float = 0.0
        self.count = 0

    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        scores, targets = class_view(outputs, targets)
        self.total = (
            self.total + functional.cross_entropy(scores, targets, reduction="sum").double()
        )
        self.count += targets.numel()

    def compute(self) -> float:
        return float(np.exp(float(self.total) / max(self.count, 1)))


class _ErrorSums(Metric):
    tasks = VALUE_TASKS
    _state = ("sums", "count")

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


DEFAULT_METRICS = {
    "classification": ["accuracy"],
    "language_model": ["perplexity", "accuracy"],
    "regression": ["rmse", "mae", "r2"],
    "forecasting": ["rmse", "mae"],
    "reconstruction": ["rmse", "mae"],
    "detection": ["map50", "map"],
    "next_key": ["accuracy", "top9_accuracy"],
}


def default_metric_names(schema: Schema) -> list[str]:
    return list(DEFAULT_METRICS.get(schema.task, []))


def _make(name: str) -> Metric:
    match = TOP_K.match(name)
    return TopKAccuracy(int(match.group(1))) if match else _METRICS[name]()


def build_metrics(names: list[str] | None, schema: Schema) -> list[Metric]:
    """Fresh metric objects for ``names`` (default by task), checked against the task.

    Raises:
        UserError: a metric that does not fit the task.
    """
    metrics = []
    for name in names if names is not None else default_metric_names(schema):
        metric = _make(name)
        if schema.task not in metric.tasks:
            valid = [n for n, c in _METRICS.items() if schema.task in c.tasks]
            if schema.task in CLASS_TASKS:
                valid.append("topK_accuracy")
            raise UserError(
                f"train.metrics: '{name}' does not fit {schema.task}; valid: {', '.join(valid)}"
            )
        metric.reset()
        metrics.append(metric)
    for metric in metrics:
        metric.bind(metrics)
    return metrics


def higher_is_better(name: str) -> bool:
    """Whether a larger value of metric ``name`` (without split prefix) is better."""
    if TOP_K.match(name):
        return True
    cls = _METRICS.get(name)
    return bool(cls and cls.higher_is_better)


# Detection metrics register themselves; they build on the classes above.
from athanor.training import detection_metrics  # noqa: E402, F401
