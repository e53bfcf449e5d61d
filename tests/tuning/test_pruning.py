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


@pytest.mark.parametrize(
    ("options", "epochs", "summary"),
    [
        ({}, 27, "asha (keeps the top 1/3 at epochs 1, 3, 9, epoch 1 once 3 trials reach it)"),
        (
            {"min_epochs": 3},
            27,
            "asha (keeps the top 1/3 at epochs 3, 9, epoch 3 once 3 trials reach it)",
        ),
        ({"quorum": 1}, 27, "asha (keeps the top 1/3 at epochs 1, 3, 9)"),
        (
            {"reduction_factor": 2, "min_epochs": 2},
            20,
            "asha (keeps the top 1/2 at epochs 2, 4, 8, 16, epoch 2 once 2 trials reach it)",
        ),
        (
            {"min_epochs": 3, "min_early_stopping_rate": 1},
            27,
            "asha (keeps the top 1/3 at epochs 9, epoch 9 once 3 trials reach it)",
        ),
        ({}, 1, "asha (no rung below 1 epochs: no trial is pruned)"),
        ({"type": "median"}, 27, "median"),
    ],
)
def test_the_search_says_at_which_epochs_asha_judges_trials(
    options: dict, epochs: int, summary: str
) -> None:
    from athanor.spec.tune import TuneSpec
    from athanor.tuning.study import pruner_summary

    spec = TuneSpec.model_validate({"pruner": {"type": "asha", **options}}).pruner
    assert pruner_summary(spec, epochs) == summary


def test_a_search_prunes_only_at_its_rungs() -> None:
    from athanor.tuning.study import close_storages

    spec = {
        **IRIS,
        "seed": 5,
        "train": {
            "epochs": 18,
            "batch_size": 16,
            "optimizer": {"type": "adam", "lr": {"loguniform": [1.0e-4, 1.0e-1]}},
        },
    }
    pruner = {"type": "asha", "min_epochs": 2}
    result = at.tune(
        spec, trials=8, sampler="random", pruner=pruner, metric="val_loss", progress=False
    )
    close_storages()
    epochs = sorted({r["epochs"] for r in result.report["leaderboard"] if r["state"] == "pruned"})
    assert epochs and set(epochs) <= {2, 6}  # min_epochs, then three times that
