"""The trial reporter: per-epoch reports, pruning as a cancelled run, the budget's end."""

from __future__ import annotations

import time

import optuna
import pytest

import athanor as at
from athanor.store import RunStatus
from athanor.tuning.pruning import MetricMissing, TrialReporter

IRIS = {
    "data": {"dataset": "iris", "split": {"val": 0.2, "test": 0.2}},
    "model": {"template": "mlp", "hidden": [8]},
    "train": {"epochs": 6, "batch_size": 16},
}


def _trial(pruner: optuna.pruners.BasePruner | None = None) -> optuna.Trial:
    study = optuna.create_study(direction="maximize", pruner=pruner or optuna.pruners.NopPruner())
    return study.ask()


def test_a_pruned_trial_is_a_cancelled_run_stopped_at_that_epoch() -> None:
    trial = _trial(optuna.pruners.ThresholdPruner(lower=1.01))  # prunes any accuracy
    reporter = TrialReporter(trial, "val_accuracy", pruner="threshold")
    run = at.train(IRIS, progress=False, callbacks=[reporter], evaluate_test=False)
    assert run.run.status == RunStatus.CANCELLED
    assert run.run.status_reason.startswith("pruned by threshold at epoch 1 (val_accuracy ")
    assert reporter.pruned and reporter.epochs == 1
    assert [p["epoch"] for p in at.runs.show(run.id)["metrics"]["val_accuracy"]] == [1]
    frozen = trial.study.trials[0]
    assert list(frozen.intermediate_values) == [1]
    assert frozen.user_attrs["run_id"] == run.id


def test_every_epoch_is_reported_and_the_last_one_is_never_pruned() -> None:
    trial = _trial()
    reporter = TrialReporter(trial, "val_loss")
    run = at.train(IRIS, progress=False, callbacks=[reporter], evaluate_test=False)
    assert run.run.status == RunStatus.SUCCEEDED and reporter.pruned is None
    values = trial.study.trials[0].intermediate_values
    history = [epoch["val_loss"] for epoch in run.fit.history]
    assert [values[e] for e in range(1, 7)] == pytest.approx(history)


def test_the_budget_stops_a_trial_after_its_current_step() -> None:
    reporter = TrialReporter(_trial(), "val_loss", deadline=time.time() - 1)
    run = at.train(IRIS, progress=False, callbacks=[reporter], evaluate_test=False)
    assert run.run.status == RunStatus.CANCELLED and reporter.out_of_time
    assert run.fit.steps == 1 and run.run.status_reason.startswith(
        "stopped: the search's time budget ran out"
    )


def test_a_metric_the_runs_do_not_compute_stops_with_what_is_computed() -> None:
    reporter = TrialReporter(_trial(), "val_f1_macro")
    with pytest.raises(MetricMissing) as error:
        at.train(IRIS, progress=False, callbacks=[reporter], evaluate_test=False)
    assert str(error.value) == (
        "tune.metric: 'val_f1_macro' is not computed by these runs; computed: val_accuracy, "
        "val_loss; add 'f1_macro' to train.metrics"
    )
