"""Loss functions from their specs, checked against the task.

Outputs and targets follow ``athanor.data.schema``: classification logits ``[B, classes]``
(or one logit ``[B, 1]`` for binary BCE), language-model logits ``[B, T, vocab]`` with token
targets ``[B, T]``, and same-shaped values for regression, forecasting and reconstruction.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional

from athanor.data.schema import Schema
from athanor.errors import UserError
from athanor.spec.train import LossSpec

_FOR_TASK = {
    "classification": ("cross_entropy", "nll", "bce", "bce_with_logits"),
    "language_model": ("cross_entropy", "nll"),
    "regression": ("mse", "mae", "huber"),
    "forecasting": ("mse", "mae", "huber"),
    "reconstruction": ("mse", "mae", "huber"),
    "detection": ("centernet",),
    "next_key": ("cross_entropy", "nll"),
}
_AUTO = {
    "classification": "cross_entropy",
    "language_model": "cross_entropy",
    "detection": "centernet",
    "next_key": "cross_entropy",
}
_BINARY = ("bce", "bce_with_logits")


def resolved_loss_name(spec: LossSpec, schema: Schema) -> str:
    """The loss actually used: ``auto`` is cross-entropy for classes and tokens, CenterNet's
    for detection, else MSE."""
    if spec.type == "auto":
        return _AUTO.get(schema.task, "mse")
    return spec.type


def loss_description(spec: LossSpec, schema: Schema, *, scaled_target: bool) -> str:
    """What the loss measures, for logs: e.g. ``mse on the standardized medv (metrics in
    medv's units)`` when the targets were standardized for training."""
    name = resolved_loss_name(spec, schema)
    if schema.task not in ("regression", "forecasting"):
        return name
    target = ", ".join(schema.target_names or []) or schema.target
    if scaled_target:
        return f"{name} on the standardized {target} (metrics in {target}'s own units)"
    return f"{name} in {target}'s own units"


def uses_single_logit(spec: LossSpec, schema: Schema) -> bool:
    """Whether the network ends in one logit (binary classification with a BCE loss)."""
    return schema.task == "classification" and resolved_loss_name(spec, schema) in _BINARY


class ClassLoss(nn.Module):
    """Cross-entropy (or softmax + NLL) over the class dimension, any number of positions."""

    def __init__(self, nll: bool, label_smoothing: float, weight: torch.Tensor | None) -> None:
        super().__init__()
        self.nll = nll
        self.label_smoothing = label_smoothing
        self.register_buffer("weight", weight, persistent=False)

    def forward(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if outputs.dim() == 3:  # [B, T, V] language-model logits, [B, T] targets
            outputs = outputs.reshape(-1, outputs.shape[-1])
            targets = targets.reshape(-1)
        if self.nll:  # the course's softmax + negative log-likelihood, written out
            return functional.nll_loss(
                functional.log_softmax(outputs, dim=1), targets, weight=self.weight
            )
        return functional.cross_entropy(
            outputs, targets, weight=self.weight, label_smoothing=self.label_smoothing
        )


class BinaryLoss(nn.Module):
    """BCE on one logit per sample; ``bce`` applies the sigmoid first (as courses write it)."""

    def __init__(self, with_logits: bool, pos_weight: torch.Tensor | None) -> None:
        super().__init__()
        self.with_logits = with_logits
        self.register_buffer("pos_weight", pos_weight, persistent=False)

    def forward(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits = outputs.reshape(-1)
        labels = targets.reshape(-1).to(logits.dtype)
        if self.with_logits:
            return functional.binary_cross_entropy_with_logits(
                logits, labels, pos_weight=self.pos_weight
            )
        probabilities = torch.sigmoid(logits).clamp(1e-7, 1 - 1e-7)
        weight = None
        if self.pos_weight is not None:
            weight = torch.where(labels > 0.5, self.pos_weight, torch.ones_like(labels))
        return functional.binary_cross_entropy(probabilities, labels, weight=weight)


def class_weights(
    spec: LossSpec, schema: Schema, class_counts: list[int] | None
) -> torch.Tensor | None:
    """Per-class weights from the spec; ``balanced`` uses the training split's counts.

    Raises:
        UserError: the wrong number of weights, or no counts for ``balanced``.
    """
    if spec.class_weights is None:
        return None
    classes = len(schema.classes or [])
    if spec.class_weights == "balanced":
        if not class_counts:
            raise UserError("train.loss.class_weights: 'balanced' needs class labels in memory")
        counts = torch.tensor(class_counts, dtype=torch.float32).clamp(min=1)
        return counts.sum() / (len(counts) * counts)
    if len(spec.class_weights) != classes:
        raise UserError(
            f"train.loss.class_weights: {len(spec.class_weights)} weights for {classes} classes "
            f"({', '.join(schema.classes or [])})"
        )
    return torch.tensor(spec.class_weights, dtype=torch.float32)


def build_loss(spec: LossSpec, schema: Schema, class_counts: list[int] | None = None) -> nn.Module:
    """The loss module for ``spec`` on a dataset of ``schema``.

    Args:
        spec: the loss section of the training spec.
        schema: the data's schema (task, classes).
        class_counts: samples per class in the training split (for ``balanced`` weights).

    Raises:
        UserError: the loss does not fit the task (e.g. MSE on class labels), or BCE on more
            than two classes.
    """
    name = resolved_loss_name(spec, schema)
    valid = _FOR_TASK.get(schema.task, ())
    if name not in valid:
        raise UserError(
            f"train.loss: '{name}' does not fit {schema.task}; valid: {', '.join(valid) or 'none'}"
        )
    if spec.class_weights is not None and schema.task != "classification":
        raise UserError("train.loss.class_weights: applies to classification only")
    weight = class_weights(spec, schema, class_counts)
    if name in _BINARY:
        if len(schema.classes or []) != 2:
            raise UserError(
                f"train.loss: '{name}' is for two classes; this data has "
                f"{len(schema.classes or [])} (use cross_entropy)"
            )
        pos_weight = (weight[1] / weight[0]).reshape(1) if weight is not None else None
        return BinaryLoss(name == "bce_with_logits", pos_weight)
    if name == "centernet":
        from athanor.training.detection_loss import CenterNetLoss

        return CenterNetLoss()
    if name in ("cross_entropy", "nll"):
        return ClassLoss(name == "nll", spec.label_smoothing, weight)
    if name == "mse":
        return nn.MSELoss()
    if name == "mae":
        return nn.L1Loss()
    return nn.HuberLoss(delta=spec.delta)
