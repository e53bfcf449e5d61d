"""Streaming metrics agree with scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn import metrics as sk

from athanor.data.schema import InputSchema, Schema
from athanor.train.metrics import build_metrics

REGRESSION = Schema(task="regression", input=InputSchema(kind="tabular", shape=[3]))
CLASSES = Schema(
    task="classification", input=InputSchema(kind="tabular", shape=[3]), classes=["a", "b", "c"]
)


def test_regression_metrics_over_several_batches() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=(100, 1)).astype(np.float32)
    p = (y + rng.normal(scale=0.3, size=y.shape)).astype(np.float32)
    metrics = build_metrics(["mse", "rmse", "mae", "r2"], REGRESSION)
    for start in range(0, 100, 32):
        for metric in metrics:
            metric.update(
                torch.from_numpy(p[start : start + 32]), torch.from_numpy(y[start : start + 32])
            )
    values = {m.name: m.compute() for m in metrics}
    assert values["mse"] == pytest.approx(sk.mean_squared_error(y, p), rel=1e-5)
    assert values["rmse"] == pytest.approx(sk.mean_squared_error(y, p) ** 0.5, rel=1e-5)
    assert values["mae"] == pytest.approx(sk.mean_absolute_error(y, p), rel=1e-5)
    assert values["r2"] == pytest.approx(sk.r2_score(y, p), rel=1e-4)


def test_accuracy() -> None:
    logits = torch.tensor([[2.0, 1, 0], [0, 3, 1], [0, 1, 5], [4, 0, 0]])
    targets = torch.tensor([0, 1, 1, 2])
    (accuracy,) = build_metrics(None, CLASSES)
    accuracy.update(logits[:2], targets[:2])
    accuracy.update(logits[2:], targets[2:])
    assert accuracy.compute() == 0.5
    assert accuracy.compute() == sk.accuracy_score(targets, logits.argmax(1))
