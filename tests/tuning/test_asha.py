"""ASHA's first rung holds the first trials until a quorum has reached it."""

from __future__ import annotations

import optuna
import pytest
from optuna.study import StudyDirection

import athanor as at
from athanor.store import RunStatus, open_store
from athanor.tuning.asha import AshaPruner, first_rung_values, judge_held
from athanor.tuning.executors import InProcessExecutor


def _study(quorum: int) -> optuna.Study:
    pruner = AshaPruner(
        min_resource=1, reduction_factor=3, min_early_stopping_rate=0, quorum=quorum
    )
    return optuna.create_study(direction="minimize", pruner=pruner)


def _reach_first_rung(study: optuna.Study, value: float) -> tuple[optuna.Trial, bool]:
    trial = study.ask()
    trial.report(value, 1)
    return trial, trial.should_prune()


def test_trials_before_the_quorum_are_held_and_the_quorum_is_judged_as_optuna_does() -> None:
    study = _study(quorum=3)
    first, first_stops = _reach_first_rung(study, 10.0)
    second, second_stops = _reach_first_rung(study, 5.0)
    assert first_stops and second_stops  # stopped, but held: the pruner says which
    assert study.pruner.held == {first._trial_id, second._trial_id}
    third, third_stops = _reach_first_rung(study, 7.0)
    assert third_stops and third._trial_id not in study.pruner.held  # 7 is not the best of 3
    reached = first_rung_values(study.get_trials(deepcopy=False))
    assert sorted(reached) == [5.0, 7.0, 10.0]
    minimize = StudyDirection.MINIMIZE
    assert [judge_held(v, reached, 3, minimize) for v in (10.0, 5.0)] == [False, True]
    # the released trial goes on from its rung: judged next at epoch 3, not again at 1
    second.report(4.0, 2)
    assert not second.should_prune()
    second.report(3.0, 3)
    assert not second.should_prune() and second._trial_id not in study.pruner.held


def test_a_quorum_of_one_judges_each_trial_at_once_as_optuna_does() -> None:
    study = _study(quorum=1)
    _, stops = _reach_first_rung(study, 10.0)
    assert not stops and not study.pruner.held  # the first trial is the best so far
    _, stops = _reach_first_rung(study, 11.0)
    assert stops and not study.pruner.held


def test_a_nan_is_pruned_at_once_never_held() -> None:
    study = _study(quorum=3)
    trial, stops = _reach_first_rung(study, float("nan"))
    assert stops and trial._trial_id not in study.pruner.held


def test_held_trials_rank_by_the_direction_and_the_best_one_always_goes_on() -> None:
    maximize, minimize = StudyDirection.MAXIMIZE, StudyDirection.MINIMIZE
    reached = [0.5, 0.9, 0.7, 0.6, 0.8, 0.4]
    assert [judge_held(v, reached, 3, maximize) for v in (0.9, 0.8, 0.7)] == [True, True, False]
    assert [judge_held(v, reached, 3, minimize) for v in (0.4, 0.5, 0.6)] == [True, True, False]
    assert judge_held(0.5, [0.5, 0.7], 3, maximize) is False  # fewer than r: the best only
    assert judge_held(0.7, [0.5, 0.7], 3, maximize) is True


def test_a_search_holds_its_first_trials_and_resumes_the_best_one_from_its_checkpoint(
    iris_search,
) -> None:
    iris_search["tune"].update({"trials": 6, "pruner": {"type": "asha", "reduction_factor": 3}})
    result = at.tune(iris_search, progress=False)
    assert result.record.status == "finished" and result.record.done == 6
    rows = {row["trial"]: row for row in result.report["leaderboard"]}
    first_three = sorted(rows[n]["epochs"] for n in (0, 1, 2))
    # of the first three trials, only the best at epoch 1 went past it (the top 1/3)
    assert first_three[:2] == [1, 1] and first_three[2] > 1
    runs = {run.id: run for run in open_store().runs.list(limit=100)}
    assert len(runs) == 6  # a released trial went on in its own run, from its checkpoint
    assert max(rows[n]["epochs"] for n in (0, 1)) > 1  # a held trial went on (seed 3)
    for number in (0, 1):
        row, run = rows[number], runs[rows[number]["run_id"]]
        if row["epochs"] == 1:  # pruned once the third trial had reached epoch 1
            assert run.status_reason.startswith("held at epoch 1 (val_accuracy ")
            assert row["state"] == "pruned" and run.status == RunStatus.CANCELLED
            assert row["reason"].endswith("not in the top 1/3 of the 3 trials there")
        else:
            epochs = [p["epoch"] for p in at.runs.show(run.id)["metrics"]["val_accuracy"]]
            assert epochs == list(range(1, row["epochs"] + 1))  # epoch 1 was not trained twice


@pytest.mark.parametrize("trials", [1, 2])
def test_a_search_of_fewer_trials_than_the_quorum_judges_by_those_it_has(
    iris_search, trials: int
) -> None:
    result = at.tune(iris_search, trials=trials, pruner="asha", progress=False)
    rows = result.report["leaderboard"]
    assert result.record.status == "finished" and len(rows) == trials
    assert sum(row["epochs"] > 1 for row in rows) == 1  # the better one went on


def test_asha_is_asked_only_at_its_rungs() -> None:
    pruner = AshaPruner(min_resource=2, reduction_factor=3, min_early_stopping_rate=0, quorum=3)
    assert [step for step in range(1, 30) if pruner.judges_at(step)] == [2, 6, 18]
    later = AshaPruner(min_resource=1, reduction_factor=2, min_early_stopping_rate=2, quorum=1)
    assert [step for step in range(1, 20) if later.judges_at(step)] == [4, 8, 16]


def test_trials_still_held_when_the_search_reaches_stop_at_are_pruned_with_why(
    iris_search,
) -> None:
    # trial 0 is held at epoch 1 with val_accuracy 1/3; trial 1 reaches 0.5 at its first epoch
    result = at.tune(iris_search, trials=10, pruner="asha", stop_at=0.5, progress=False)
    rows = {row["trial"]: row for row in result.report["leaderboard"]}
    assert result.record.reason.startswith("trial 1 reached val_accuracy")
    assert (rows[1]["state"], rows[1]["epochs"]) == ("complete", 1)
    assert (rows[0]["state"], rows[0]["epochs"]) == ("pruned", 1)
    assert rows[0]["reason"] == f"held at the first rung when {result.record.reason}"


class _CtrlCAtTheThirdTrial(InProcessExecutor):
    """Trials in this process; Ctrl-C (KeyboardInterrupt) as the third one is handed over,
    while the first two are held at the first rung."""

    def __init__(self) -> None:
        super().__init__()
        self.handed = 0

    def submit(self, task, trial) -> None:
        self.handed += 1
        if self.handed == 3:
            raise KeyboardInterrupt
        super().submit(task, trial)


def test_held_trials_left_by_ctrl_c_are_judged_and_the_better_one_goes_on_next_time(
    iris_search, athanor_home
) -> None:
    from athanor.settings import current_settings
    from athanor.tuning.study import close_storages, load_search_study

    iris_search["tune"].update({"trials": 6, "pruner": "asha"})
    with pytest.raises(KeyboardInterrupt):
        at.tune(iris_search, progress=False, executor=_CtrlCAtTheThirdTrial())
    close_storages()
    study = load_search_study(1, current_settings())
    first, second = study.trials[0], study.trials[1]
    assert {first.state.name, second.state.name} == {"PRUNED", "FAIL"}
    better, worse = (first, second) if first.state.name == "FAIL" else (second, first)
    assert worse.user_attrs["reason"].endswith("not in the top 1/3 of the 2 trials there")
    (queued,) = [t for t in study.trials if t.state.name == "WAITING"]
    assert queued.params == better.params  # queued again, past the first rung

    result = at.tune(iris_search, progress=False)
    rows = {row["trial"]: row for row in result.report["leaderboard"]}
    again = rows[queued.number]
    assert again["epochs"] > 1 and again["run_id"] == better.user_attrs["run_id"]
    epochs = [p["epoch"] for p in at.runs.show(again["run_id"])["metrics"]["val_accuracy"]]
    assert epochs == list(range(1, again["epochs"] + 1))  # on from its checkpoint
