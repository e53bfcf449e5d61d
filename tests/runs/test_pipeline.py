"""``athanor.train`` records runs truthfully, saves packages and registers models."""

from __future__ import annotations

import pytest

import athanor as at
from athanor.errors import DataError, SpecError
from athanor.store import RunStatus, open_store

DIGITS = {
    "name": "digits-mlp",
    "data": {"dataset": "digits"},
    "model": {"template": "mlp", "hidden": [32]},
    "train": {"epochs": 3, "early_stopping": {"monitor": "val_accuracy", "patience": 5}},
}


def test_a_run_is_stored_with_metrics_package_and_version() -> None:
    run = at.train(DIGITS, register_as="digits-mlp", progress=False)
    assert run.run.status == RunStatus.SUCCEEDED
    assert run.run.status_reason == "completed 3 epoch(s)"
    summary = run.run.summary
    assert summary["epochs_run"] == 3 and summary["parameters"]["trainable"] > 0
    assert summary["data"]["split"]["sizes"]["test"] == 359
    assert set(run.test_metrics) == {"test_loss", "test_accuracy"}
    assert summary["metrics"]["test_accuracy"] == run.test_metrics["test_accuracy"]
    assert run.model_version.ref == "digits-mlp@1" and summary["registered_as"] == "digits-mlp@1"
    shown = at.runs.show(run.id)
    assert [p["epoch"] for p in shown["metrics"]["val_loss"]] == [1, 2, 3]
    assert shown["metrics"]["test_accuracy"][0]["value"] == run.test_metrics["test_accuracy"]
    predictor = at.models.load("digits-mlp")
    assert predictor.ref == "digits-mlp@1"
    again = at.models.register("digits-mlp", run.id)
    assert again.version == 2 and again.content_hash == run.model_version.content_hash
    card = (run.package_dir / "README.md").read_text()
    assert "# digits-mlp" in card and "test_accuracy" in card


def test_spec_errors_record_nothing() -> None:
    with pytest.raises(SpecError):
        at.train({**DIGITS, "train": {"epochs": 0}}, progress=False)
    with pytest.raises(Exception, match="unknown dataset 'digitz'"):
        at.train({**DIGITS, "data": {"dataset": "digitz"}}, progress=False)
    assert open_store().runs.count() == 0


def test_failures_after_start_are_recorded_with_the_reason() -> None:
    bad_split = {**DIGITS, "data": {"dataset": "digits", "split": {"val": 1000, "test": 900}}}
    with pytest.raises(DataError):
        at.train(bad_split, progress=False)
    (run,) = at.runs.list()
    assert run.status == RunStatus.FAILED
    assert "leave no training samples" in run.status_reason
    assert run.finished_at is not None


def test_overrides_are_validated_and_stored() -> None:
    run = at.train(
        "mnist-cnn",
        {"data.dataset": "digits", "train.epochs": 1, "data.split.val": 0.1},
        progress=False,
    )
    assert run.run.spec["train"]["epochs"] == 1 and run.run.spec["data"]["dataset"] == "digits"
    assert run.run.spec["train"]["eval_batch_size"] == 1024  # defaults stored too


def test_trials_skip_the_test_split_and_test_run_looks_once() -> None:
    from athanor.runs import test_run

    run = at.train(DIGITS, progress=False, evaluate_test=False)
    assert run.test_metrics == {} and run.run.summary["test"] == "not evaluated"
    assert not any(name.startswith("test_") for name in run.run.summary["metrics"])
    assert not any(name.startswith("test_") for name in at.runs.show(run.id)["metrics"])
    tested = test_run(run.id, register_as="digits-chosen")
    assert tested.evaluated and set(tested.test_metrics) == {"test_loss", "test_accuracy"}
    assert tested.model_version.ref == "digits-chosen@1"
    assert tested.model_version.metrics["test_accuracy"] == tested.test_metrics["test_accuracy"]
    # the same split as a run that tests itself: identical samples, identical weights
    reference = at.train(DIGITS, progress=False)
    assert tested.test_metrics["test_accuracy"] == pytest.approx(
        reference.test_metrics["test_accuracy"]
    )
    again = test_run(run.id)
    assert not again.evaluated and again.test_metrics == tested.test_metrics
    points = at.runs.show(run.id)["metrics"]["test_accuracy"]
    assert len(points) == 1  # evaluated once, however often it is asked
    with pytest.raises(at.errors.NotFound):
        test_run(999)


def test_test_run_reports_a_forecast_in_the_targets_own_units() -> None:
    from athanor.runs import test_run

    spec = "lstm-sunspots"
    short = {"train.epochs": 2, "model.units": 8}
    chosen = at.train(spec, short, progress=False, evaluate_test=False)
    tested = test_run(chosen.id)
    reference = at.train(spec, short, progress=False)  # tests itself at the end
    assert set(tested.test_metrics) == set(reference.test_metrics)
    for name, value in reference.test_metrics.items():
        assert tested.test_metrics[name] == pytest.approx(value, rel=1e-5), name
    assert tested.test_metrics["test_mae"] > 5.0  # sunspot counts, not standardized values
