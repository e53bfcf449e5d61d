"""Streaming metrics agree with scikit-learn, over several batches, binary and multiclass."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn import metrics as sk

from athanor.data.schema import InputSchema, Schema
from athanor.errors import UserError
from athanor.training.metrics import build_metrics

TABLE = InputSchema(kind="tabular", shape=[3])
REGRESSION = Schema(task="regression", input=TABLE)
CLASSES = Schema(task="classification", input=TABLE, classes=["a", "b", "c", "d"])
BINARY = Schema(task="classification", input=TABLE, classes=["no", "yes"])
TOKENS = Schema(
    task="language_model", input=InputSchema(kind="tokens", shape=[5], vocab=list("abcdef"))
)


def feed(metrics, outputs: torch.Tensor, targets: torch.Tensor, batch: int = 37) -> dict:
    for start in range(0, len(targets), batch):
        for metric in metrics:
            metric.update(outputs[start : start + batch], targets[start : start + batch])
    return {m.name: m.compute() for m in metrics}


def test_regression_metrics() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=(100, 1)).astype(np.float32)
    p = (y + rng.normal(scale=0.3, size=y.shape)).astype(np.float32)
    values = feed(
        build_metrics(["mse", "rmse", "mae", "r2"], REGRESSION),
        torch.from_numpy(p),
        torch.from_numpy(y),
    )
    assert values["mse"] == pytest.approx(sk.mean_squared_error(y, p), rel=1e-5)
    assert values["rmse"] == pytest.approx(sk.mean_squared_error(y, p) ** 0.5, rel=1e-5)
    assert values["mae"] == pytest.approx(sk.mean_absolute_error(y, p), rel=1e-5)
    assert values["r2"] == pytest.approx(sk.r2_score(y, p), rel=1e-4)


def test_classification_metrics_match_scikit_learn() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, size=300)
    logits = rng.normal(size=(300, 4)) + np.eye(4)[y] * 1.2
    logits[:40] = np.round(logits[:40])  # ties among scores, as real models produce
    names = [
        "accuracy",
        "top2_accuracy",
        "precision_macro",
        "recall_macro",
        "f1_macro",
        "f1_micro",
        "roc_auc",
        "pr_auc",
        "confusion_matrix",
    ]
    outputs = torch.tensor(logits, dtype=torch.float32)
    values = feed(build_metrics(names, CLASSES), outputs, torch.from_numpy(y))
    predicted = logits.argmax(1)
    probabilities = torch.softmax(outputs, 1).double().numpy()  # what the model produces
    onehot = np.eye(4)[y]
    assert values["accuracy"] == pytest.approx(sk.accuracy_score(y, predicted))
    assert values["top2_accuracy"] == pytest.approx(sk.top_k_accuracy_score(y, logits, k=2))
    for kind, function in (
        ("precision", sk.precision_score),
        ("recall", sk.recall_score),
        ("f1", sk.f1_score),
    ):
        assert values[f"{kind}_macro"] == pytest.approx(function(y, predicted, average="macro"))
    assert values["f1_micro"] == pytest.approx(sk.f1_score(y, predicted, average="micro"))
    assert values["roc_auc"] == pytest.approx(
        sk.roc_auc_score(y, probabilities, multi_class="ovr", average="macro"), abs=1e-6
    )
    assert values["pr_auc"] == pytest.approx(
        sk.average_precision_score(onehot, probabilities, average="macro"), abs=1e-6
    )
    assert values["confusion_matrix"] == sk.confusion_matrix(y, predicted).tolist()


def test_binary_metrics_from_one_logit_and_from_two() -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, size=200)
    score = rng.normal(size=200) + y * 0.8
    score[:30] = np.round(score[:30])
    one = feed(
        build_metrics(["accuracy", "roc_auc", "pr_auc"], BINARY),
        torch.tensor(score[:, None], dtype=torch.float32),
        torch.from_numpy(y),
    )
    assert one["roc_auc"] == pytest.approx(sk.roc_auc_score(y, score), abs=1e-6)
    assert one["pr_auc"] == pytest.approx(sk.average_precision_score(y, score), abs=1e-6)
    assert one["accuracy"] == pytest.approx(sk.accuracy_score(y, score > 0))
    two = feed(
        build_metrics(["roc_auc"], BINARY),
        torch.tensor(np.stack([-score, score], 1) / 2, dtype=torch.float32),
        torch.from_numpy(y),
    )
    assert two["roc_auc"] == pytest.approx(one["roc_auc"], abs=1e-6)


def test_perplexity_and_token_accuracy() -> None:
    rng = np.random.default_rng(3)
    logits = torch.tensor(rng.normal(size=(8, 5, 6)), dtype=torch.float32)
    targets = torch.tensor(rng.integers(0, 6, size=(8, 5)))
    values = feed(build_metrics(None, TOKENS), logits, targets, batch=3)
    mean_ce = torch.nn.functional.cross_entropy(logits.reshape(-1, 6), targets.reshape(-1))
    assert values["perplexity"] == pytest.approx(float(mean_ce.exp()), rel=1e-5)
    assert values["accuracy"] == pytest.approx(float((logits.argmax(-1) == targets).float().mean()))


def test_state_round_trip_and_task_checks() -> None:
    metrics = build_metrics(["accuracy", "f1_macro", "roc_auc"], CLASSES)
    logits, targets = torch.randn(50, 4), torch.randint(0, 4, (50,))
    feed(metrics, logits[:30], targets[:30])
    fresh = build_metrics(["accuracy", "f1_macro", "roc_auc"], CLASSES)
    for old, new in zip(metrics, fresh, strict=True):
        new.load_state_dict(old.state_dict())
    assert feed(metrics, logits[30:], targets[30:]) == feed(fresh, logits[30:], targets[30:])
    with pytest.raises(UserError, match="'r2' does not fit classification"):
        build_metrics(["r2"], CLASSES)
    with pytest.raises(UserError, match="'perplexity' does not fit classification"):
        build_metrics(["perplexity"], CLASSES)
