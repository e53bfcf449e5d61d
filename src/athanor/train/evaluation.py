"""Evaluating a network on a split: loss and metrics, batched, without gradients."""

from __future__ import annotations

import torch
from torch import nn

from athanor.data.batching import TensorBatches, TensorSplit
from athanor.train.metrics import Metric


def evaluate_split(
    module: nn.Module,
    split: TensorSplit,
    loss_fn: nn.Module,
    metrics: list[Metric],
    *,
    batch_size: int = 1024,
    prefix: str = "val",
) -> dict[str, float]:
    """``{prefix}_loss`` and ``{prefix}_<metric>`` of ``module`` on ``split``.

    The module is put in eval mode and restored to its previous mode afterwards.
    """
    was_training = module.training
    module.eval()
    for metric in metrics:
        metric.reset()
    total = torch.zeros((), dtype=torch.float64, device=split.x.device)
    with torch.inference_mode():
        for x, y in TensorBatches(split, batch_size, shuffle=False).epoch(0):
            outputs = module(x)
            total += loss_fn(outputs, y).double() * y.shape[0]
            for metric in metrics:
                metric.update(outputs, y)
    module.train(was_training)
    results = {f"{prefix}_loss": float(total) / max(len(split), 1)}
    results.update({f"{prefix}_{metric.name}": metric.compute() for metric in metrics})
    return results
