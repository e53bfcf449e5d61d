"""Searches end to end in this process: ranking on validation, continuing, registering."""

from __future__ import annotations

import json

import pytest

import athanor as at
from athanor.errors import SpecError
from athanor.settings import current_settings
from athanor.store import RunStatus, open_store
from athanor.tuning.study import list_records


def _runs() -> dict[int, object]:
    return {run.id: run for run in open_store().runs.list(limit=1000)}


def test_trials_are_ranked_on_validation_and_a_rerun_continues_without_repeats(
    iris_search,
) -> None:
    iris_search["tune"].update({"trials": 6, "pruner": {"type": "asha", "reduction_factor": 2}})
    result = at.tune(iris_search, progress=False)
    record = result.record
    assert (record.status, record.done, record.trials_target) == ("finished", 6, 6)
    rows = result.report["leaderboard"]
    assert len(rows) == 6 and rows[0]["trial"] == result.best["trial"]
    complete = [r["value"] for r in rows if r["state"] == "complete"]
    assert complete == sorted(complete, reverse=True) and complete[0] == result.best["value"]
    runs = _runs()
    assert len(runs) == 6
    pruned = [r for r in rows if r["state"] == "pruned"]
    assert pruned, "successive halving with r=2 prunes some of six trials"
    for row in rows:
        run = runs[row["run_id"]]
        assert not any(name.startswith("test_") for name in run.summary.get("metrics", {}))
        if row["state"] == "pruned":
            assert run.status == RunStatus.CANCELLED
            # pruned where it was judged, or held at the first rung until two trials had
            # reached it, and pruned then (the run stopped when it was held)
            assert row["reason"].startswith(f"pruned by asha at epoch {row['epochs']} (")
            assert run.status_reason.startswith(
                (f"pruned by asha at epoch {row['epochs']} (", "held at epoch 1 (")
            )
            assert row["epochs"] < 6
        else:
            assert run.status == RunStatus.SUCCEEDED and row["epochs"] == 6
    # the best trial's parameters are the ones its run was trained with
    best_run = runs[rows[0]["run_id"]]
    assert rows[0]["params"] == result.best["params"]
    assert best_run.spec["model"]["hidden"] == result.best["params"]["model.hidden"]
    assert best_run.spec["train"]["optimizer"]["lr"] == result.best["params"]["train.optimizer.lr"]
    markdown = result.report_paths["markdown"].read_text()
    assert markdown.startswith(f"# Search 1: {record.name}") and "## Leaderboard" in markdown
    assert json.loads(result.report_paths["json"].read_text())["best"] == result.best

    more = at.tune(iris_search, trials=8, progress=False)
    assert more.id == record.id and more.record.done == 8
    assert len(_runs()) == 8  # the six finished trials were kept, two were added
    first = {r["trial"]: r["run_id"] for r in rows}
    assert {r["trial"]: r["run_id"] for r in more.report["leaderboard"] if r["trial"] < 6} == first
    unchanged = at.tune(iris_search, trials=8, progress=False)
    assert unchanged.record.done == 8 and len(_runs()) == 8
    assert at.searches.show(record.id)["trials"]["done"] == 8


@pytest.mark.usefixtures("search_backend")
def test_registering_the_best_trial_tests_it_once(iris_search) -> None:
    result = at.tune(iris_search, register_as="iris-best", progress=False)
    version = result.model_version
    assert version.ref == "iris-best@1" and version.run_id == result.best["run_id"]
    assert set(result.test_metrics) == {"test_loss", "test_accuracy"}
    assert version.metrics["val_accuracy"] == result.best["value"]
    assert version.metrics["test_accuracy"] == result.test_metrics["test_accuracy"]
    tested = [r for r in _runs().values() if "test_accuracy" in r.summary.get("metrics", {})]
    assert [r.id for r in tested] == [result.best["run_id"]]
    assert result.report["model"] == "iris-best@1"
    assert "## Test set (evaluated once, on the chosen model)" in (
        result.report_paths["markdown"].read_text()
    )
    predictor = at.models.load("iris-best")
    assert predictor.ref == "iris-best@1"


def test_a_grid_visits_every_point_once(iris_search) -> None:
    iris_search["train"]["optimizer"]["lr"] = {"choice": [0.01, 0.03]}
    result = at.tune(iris_search, trials=10, sampler="grid", pruner="none", progress=False)
    assert result.record.trials_target == 4 and result.record.status == "finished"
    points = {
        (tuple(r["params"]["model.hidden"]), r["params"]["train.optimizer.lr"])
        for r in result.report["leaderboard"]
    }
    assert points == {((8,), 0.01), ((8,), 0.03), ((32, 16), 0.01), ((32, 16), 0.03)}


def test_the_budget_ends_a_session_and_the_search_says_how_to_go_on(iris_search) -> None:
    iris_search["train"]["epochs"] = 400
    result = at.tune(iris_search, trials=50, budget=2, pruner="none", progress=False)
    record = result.record
    assert record.status == "stopped" and record.done < 50
    assert record.reason.startswith("the time budget (2s) ran out after")
    assert record.reason.endswith("run it again to continue")
    assert any(r["state"] == "stopped" for r in result.report["leaderboard"])
    assert record.seconds < 10


@pytest.mark.usefixtures("search_backend")
def test_a_search_whose_trials_cannot_work_stops_at_once(iris_search) -> None:
    result = at.tune(iris_search, metric="val_f1_macro", progress=False)
    assert result.record.status == "failed" and result.record.done == 1
    assert result.record.reason.startswith("tune.metric: 'val_f1_macro' is not computed")


def test_a_bad_space_fails_before_any_search_exists(iris_search) -> None:
    with pytest.raises(SpecError, match="train.optimizer.lr: loguniform: must be greater than 0"):
        at.tune(iris_search, ["train.optimizer.lr={loguniform: [0, 1]}"], progress=False)
    with pytest.raises(at.errors.DatasetNotFound):
        at.tune(iris_search, ["data.dataset=irsi"], progress=False)
    assert list_records(current_settings()) == [] and open_store().runs.count() == 0


def test_a_search_ends_once_a_trial_reaches_stop_at_and_a_rerun_starts_none(iris_search) -> None:
    iris_search["tune"]["pruner"] = "none"  # one trial after another, each to its end
    result = at.tune(iris_search, trials=30, stop_at=0.9, progress=False)
    record = result.record
    completed = [r for r in result.report["leaderboard"] if r["state"] == "complete"]
    last = max(completed, key=lambda r: r["trial"])
    assert record.status == "finished" and record.done < 30
    assert last["value"] >= 0.9 and last["trial"] == record.done - 1
    assert all(r["value"] < 0.9 for r in completed if r is not last)
    assert record.reason == (
        f"trial {last['trial']} reached val_accuracy {last['value']:.6g} (stop_at 0.9)"
    )
    again = at.tune(iris_search, trials=30, stop_at=0.9, progress=False)
    assert again.id == record.id  # stop_at is no part of the search's identity
    assert again.record.done == record.done and again.record.reason == record.reason
    resumed = at.searches.resume(record.id, trials=record.done + 5, progress=False)
    assert resumed.record.done == record.done  # the stored stop_at is still reached
    more = at.searches.resume(record.id, trials=record.done + 1, stop_at=1.0, progress=False)
    assert more.record.done == record.done + 1  # a stricter stop_at lets it go on


def test_a_trial_that_reaches_stop_at_ends_at_that_epoch_with_that_model(iris_search) -> None:
    iris_search["train"]["epochs"] = 20
    result = at.tune(iris_search, trials=30, stop_at=0.8, pruner="none", progress=False)
    last = max(result.report["leaderboard"], key=lambda row: row["trial"])
    run = _runs()[last["run_id"]]
    curve = [point["value"] for point in at.runs.show(run.id)["metrics"]["val_accuracy"]]
    reached = next(epoch for epoch, value in enumerate(curve, start=1) if value >= 0.8)
    assert (last["state"], last["epochs"], len(curve)) == ("complete", reached, reached)
    assert reached < 20, "a trial that reaches 0.8 trains on no further"
    assert run.status == RunStatus.SUCCEEDED
    assert run.status_reason.startswith(f"val_accuracy {curve[-1]:.6g} reached stop_at 0.8")
    assert last["value"] == run.summary["metrics"]["val_accuracy"] == curve[-1]
    assert all(row["value"] < 0.8 for row in result.report["leaderboard"] if row is not last)


def test_stop_at_of_a_minimized_metric_means_at_or_below(iris_search) -> None:
    result = at.tune(iris_search, trials=30, metric="val_loss", stop_at=0.5, progress=False)
    completed = [r for r in result.report["leaderboard"] if r["state"] == "complete"]
    assert result.record.status == "finished" and result.record.done < 30
    assert min(r["value"] for r in completed) <= 0.5
    assert sum(r["value"] <= 0.5 for r in completed) == 1
