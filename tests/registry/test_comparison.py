"""A version is compared with the versions its model's aliases point at, on one metric."""

from __future__ import annotations

from athanor.registry.comparison import headline_metric, worse_than_aliases
from athanor.store import open_store


def test_the_headline_metric_is_a_shared_test_metric_first_and_the_loss_last() -> None:
    assert headline_metric({"test_rmse": 1, "test_loss": 2}, {"test_loss": 1, "test_rmse": 3}) == (
        "test_rmse"
    )
    assert headline_metric({"test_loss": 1, "val_accuracy": 0.5}, {"test_loss": 2}) == "test_loss"
    assert headline_metric({"val_accuracy": 0.9}, {"val_accuracy": 0.8, "x": 1}) == "val_accuracy"
    assert headline_metric({"test_accuracy": float("nan")}, {"test_accuracy": 0.5}) is None
    assert headline_metric({"train_accuracy": 0.9}, {"train_accuracy": 0.8}) is None


def _version(store, name: str, version: int, metrics: dict) -> None:
    store.models.add_version(name, version=version, path="models/x", content_hash="0" * 64,
                             metrics=metrics)  # fmt: skip


def test_a_worse_score_in_the_metrics_direction_warns_naming_the_alias() -> None:
    store = open_store()
    _version(store, "m", 1, {"test_accuracy": 0.9, "test_loss": 0.3})
    _version(store, "m", 2, {"test_accuracy": 0.8, "test_loss": 0.2})
    _version(store, "r", 1, {"test_rmse": 2.0})
    _version(store, "r", 2, {"test_rmse": 2.5})
    store.models.set_alias("m", "production", 1)
    store.models.set_alias("m", "staging", 2)
    store.models.set_alias("r", "production", 1)

    [warning] = worse_than_aliases(store, store.models.get("m", 2))
    assert (warning.alias, warning.alias_ref, warning.metric, warning.higher_is_better) == (
        "production",
        "m@1",
        "test_accuracy",
        True,
    )
    assert warning.message == (
        "m@2 scores test_accuracy 0.8, worse than production (m@1: 0.9; higher is better)"
    )
    assert worse_than_aliases(store, store.models.get("m", 1)) == []  # better than staging's
    [lower] = worse_than_aliases(store, store.models.get("r", 2))
    assert (lower.metric, lower.higher_is_better) == ("test_rmse", False)
    store.models.set_alias("r", "production", 2)
    assert worse_than_aliases(store, store.models.get("r", 2)) == []  # its own alias
