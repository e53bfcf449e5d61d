"""Evaluating a network on a split: loss and metrics, batched, without gradients."""

from __future__ import annotations

import torch
from torch import nn

from athanor.data.batching import BatchSource
from athanor.train.metrics import Metric


def evaluate_split(
    module: nn.Module,
    batches: BatchSource,
    loss_fn: nn.Module,
    metrics: list[Metric],
    *,
    prefix: str = "val",
) -> dict[str, float]:
    """``{prefix}_loss`` and ``{prefix}_<metric>`` of ``module`` over ``batches`` (epoch 0).

    The module is put in eval mode and restored to its previous mode afterwards.
    """
    was_training = module.training
    module.eval()
    for metric in metrics:
        metric.reset()
    total: torch.Tensor | float = 0.0
    count = 0
    with torch.inference_mode():
        for x, y in batches.epoch(0):
            outputs = module(x)
            total = total + loss_fn(outputs, y).double() * y.shape[0]
            count += y.shape[0]
            for metric in metrics:
                metric.update(outputs, y)
    module.train(was_training)
    results = {f"{prefix}_loss": float(total) / max(count, 1)}
    results.update({f"{prefix}_{metric.name}": metric.compute() for metric in metrics})
    return results
