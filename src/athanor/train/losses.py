"""Loss functions from their specs, checked against the task."""

from __future__ import annotations

from torch import nn

from athanor.data.schema import Schema
from athanor.errors import UserError
from athanor.spec.train import LossSpec

_FOR_TASK = {
    "classification": ("cross_entropy",),
    "regression": ("mse", "mae", "huber"),
}


def resolved_loss_name(spec: LossSpec, schema: Schema) -> str:
    """The loss actually used: ``auto`` is cross-entropy for classes, MSE otherwise."""
    if spec.type == "auto":
        return "cross_entropy" if schema.task == "classification" else "mse"
    return spec.type


def build_loss(spec: LossSpec, schema: Schema) -> nn.Module:
    """The loss module for ``spec`` on a dataset of ``schema``.

    Raises:
        UserError: the loss does not fit the task (e.g. MSE on class labels).
    """
    name = resolved_loss_name(spec, schema)
    valid = _FOR_TASK[schema.task]
    if name not in valid:
        raise UserError(
            f"train.loss: '{name}' does not fit {schema.task}; valid: {', '.join(valid)}"
        )
    if name == "cross_entropy":
        return nn.CrossEntropyLoss(label_smoothing=spec.label_smoothing)
    if name == "mse":
        return nn.MSELoss()
    if name == "mae":
        return nn.L1Loss()
    return nn.HuberLoss(delta=spec.delta)
