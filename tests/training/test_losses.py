"""Losses: the values each spec gives, against PyTorch's functions and hand-computed
numbers, and the mistakes each task refuses."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional

from athanor.data.schema import InputSchema, Schema
from athanor.errors import UserError
from athanor.spec.train import LossSpec
from athanor.training.losses import build_loss, class_weights, resolved_loss_name, uses_single_logit


def schema(task: str, classes: int | None = None) -> Schema:
    return Schema(
        task=task,
        input=InputSchema(kind="tabular", shape=[3]),
        classes=[f"c{i}" for i in range(classes)] if classes else None,
    )


def loss(spec: dict | str, task: str = "classification", classes: int | None = 3, counts=None):
    return build_loss(LossSpec.model_validate(spec), schema(task, classes), counts)


LOGITS = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]])
LABELS = torch.tensor([0, 2])


def test_cross_entropy_by_hand() -> None:
    def nll(row: list[float], label: int) -> float:
        return -(row[label] - math.log(sum(math.exp(v) for v in row)))

    expected = (nll([2.0, 0.5, -1.0], 0) + nll([0.1, 0.2, 0.3], 2)) / 2
    assert float(loss("cross_entropy")(LOGITS, LABELS)) == pytest.approx(expected, rel=1e-6)
    assert float(loss("auto")(LOGITS, LABELS)) == pytest.approx(expected, rel=1e-6)
    assert float(loss("nll")(LOGITS, LABELS)) == pytest.approx(expected, rel=1e-6)


def test_label_smoothing_and_class_weights_match_pytorch() -> None:
    smoothed = loss({"type": "cross_entropy", "label_smoothing": 0.1})(LOGITS, LABELS)
    expected = functional.cross_entropy(LOGITS, LABELS, label_smoothing=0.1)
    torch.testing.assert_close(smoothed, expected)
    weighted = loss({"type": "nll", "class_weights": [1.0, 2.0, 3.0]})(LOGITS, LABELS)
    # a weighted mean: (1 * loss_0 + 3 * loss_1) / (1 + 3)
    each = functional.cross_entropy(LOGITS, LABELS, reduction="none")
    torch.testing.assert_close(weighted, (each[0] + 3 * each[1]) / 4)


def test_balanced_weights_are_inverse_class_frequencies() -> None:
    spec = LossSpec.model_validate({"class_weights": "balanced"})
    weights = class_weights(spec, schema("classification", 3), [10, 30, 0])
    # total / (classes * count), an empty class counted as one sample: 41 / (3 * [10, 30, 1])
    torch.testing.assert_close(weights, torch.tensor([41 / 30, 41 / 90, 41 / 3]))
    with pytest.raises(UserError, match="'balanced' needs class labels"):
        class_weights(spec, schema("classification", 3), None)


def test_language_model_logits_are_scored_per_position() -> None:
    logits = torch.randn(2, 4, 5, generator=torch.Generator().manual_seed(0))
    tokens = torch.tensor([[0, 1, 2, 3], [4, 3, 2, 1]])
    got = loss("cross_entropy", task="language_model", classes=None)(logits, tokens)
    torch.testing.assert_close(
        got, functional.cross_entropy(logits.reshape(8, 5), tokens.reshape(8))
    )


def test_binary_losses_on_one_logit() -> None:
    logits = torch.tensor([[1.5], [-0.5], [0.0]])
    labels = torch.tensor([1, 0, 1])
    p = [1 / (1 + math.exp(-v)) for v in (1.5, -0.5, 0.0)]
    expected = -(math.log(p[0]) + math.log(1 - p[1]) + math.log(p[2])) / 3
    for name in ("bce", "bce_with_logits"):
        got = float(loss(name, classes=2)(logits, labels))
        assert got == pytest.approx(expected, rel=1e-5), name
    # class weights [1, 3]: positives count three times in both variants
    with_logits = loss({"type": "bce_with_logits", "class_weights": [1.0, 3.0]}, classes=2)
    plain = loss({"type": "bce", "class_weights": [1.0, 3.0]}, classes=2)
    reference = functional.binary_cross_entropy_with_logits(
        logits.reshape(-1), labels.float(), pos_weight=torch.tensor([3.0])
    )
    torch.testing.assert_close(with_logits(logits, labels), reference)
    weighted = -(3 * math.log(p[0]) + math.log(1 - p[1]) + 3 * math.log(p[2])) / 3
    assert float(plain(logits, labels)) == pytest.approx(weighted, rel=1e-5)
    assert uses_single_logit(LossSpec.model_validate("bce"), schema("classification", 2))
    assert not uses_single_logit(LossSpec(), schema("classification", 2))


def test_regression_losses_by_hand() -> None:
    outputs = torch.tensor([[1.0], [2.0], [5.0]])
    targets = torch.tensor([[1.5], [0.0], [5.0]])  # errors 0.5, 2.0, 0.0
    assert float(loss("auto", task="regression")(outputs, targets)) == pytest.approx(
        (0.25 + 4.0) / 3
    )
    assert float(loss("mae", task="forecasting")(outputs, targets)) == pytest.approx(2.5 / 3)
    huber = loss({"type": "huber", "delta": 1.0}, task="reconstruction")(outputs, targets)
    # 0.5 * e^2 below delta, delta * (|e| - delta / 2) above: 0.125, 1.5, 0
    assert float(huber) == pytest.approx((0.125 + 1.5) / 3)
    assert resolved_loss_name(LossSpec(), schema("regression")) == "mse"


@pytest.mark.parametrize(
    ("spec", "task", "classes", "message"),
    [
        ("mse", "classification", 3, "'mse' does not fit classification; valid: cross_entropy"),
        ("cross_entropy", "regression", None, "'cross_entropy' does not fit regression"),
        ("bce", "classification", 3, "'bce' is for two classes; this data has 3"),
        (
            {"type": "mse", "class_weights": [1.0]},
            "regression",
            None,
            "class_weights: applies to classification only",
        ),
        ({"class_weights": [1.0, 2.0]}, "classification", 3, "2 weights for 3 classes"),
    ],
)
def test_losses_that_do_not_fit_the_task(spec, task: str, classes, message: str) -> None:
    with pytest.raises(UserError, match=message):
        loss(spec, task=task, classes=classes)
