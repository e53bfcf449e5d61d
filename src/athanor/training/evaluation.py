"""Evaluating a network on a split: loss and metrics, batched, without gradients."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import torch
from torch import nn

from athanor.data.batching import BatchSource
from athanor.training.distributed import SINGLE, DistributedContext, sum_number, sum_state
from athanor.training.metrics import Metric


def evaluate_split(
    module: nn.Module,
    batches: BatchSource,
    loss_fn: nn.Module,
    metrics: list[Metric],
    *,
    prefix: str = "val",
    autocast: Callable[[], AbstractContextManager[Any]] = nullcontext,
    unscale: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ranks: DistributedContext = SINGLE,
) -> dict[str, Any]:
    """``{prefix}_loss`` and ``{prefix}_<metric>`` of ``module`` over ``batches`` (epoch 0).

    Scalar metrics are floats; others (a confusion matrix) are lists. With ``unscale``
    (targets scaled for training), metrics see outputs and targets in the targets' own units;
    the loss stays in training units. The module is put in eval mode and restored afterwards.
    With several ``ranks``, each evaluates its shards and the sums are added up over ranks
    (every rank gets the same results).
    """
    was_training = module.training
    module.eval()
    for metric in metrics:
        metric.reset()
    total: torch.Tensor | float = 0.0
    count = 0
    with torch.inference_mode():
        for x, y in batches.epoch(0):
            if not y.shape[0]:  # an empty shard
                continue
            with autocast():
                outputs = module(x)
                loss = loss_fn(outputs, y)
            total = total + loss.double() * y.shape[0]
            count += y.shape[0]
            if unscale is not None:
                outputs, y = unscale(outputs.float()), unscale(y)
            for metric in metrics:
                metric.update(outputs, y)
    module.train(was_training)
    if ranks.active:
        total = sum_number(float(total), ranks)
        count = int(sum_number(count, ranks))
        for metric in metrics:
            metric.load_state_dict(
                sum_state(metric.state_dict(), ranks, per_sample=metric.per_sample)
            )
    results: dict[str, Any] = {f"{prefix}_loss": float(total) / max(count, 1)}
    results.update({f"{prefix}_{metric.name}": metric.compute() for metric in metrics})
    return results


def split_scalars(results: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
    """(scalar metrics, everything else) of an evaluation."""
    scalars = {k: v for k, v in results.items() if isinstance(v, int | float)}
    return scalars, {k: v for k, v in results.items() if k not in scalars}
