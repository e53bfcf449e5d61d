"""One trial: train the trial's concrete spec as a recorded run, judged on validation only.

:func:`run_trial` is what every executor runs, in this process or in a worker process (which
opens the trial from the searches' database by its id). It never looks at the test split:
trial runs are trained with ``evaluate_test=False``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from athanor.errors import UserError
from athanor.settings import Settings
from athanor.store import RunStatus
from athanor.tune.pruning import MetricMissing, TrialReporter

Outcome = Literal["complete", "pruned", "stopped", "failed", "interrupted"]


@dataclass
class TrialTask:
    """Everything a process needs to run one trial (picklable)."""

    study_name: str
    trial_id: int
    number: int
    spec: dict[str, Any]
    """The concrete run spec (JSON)."""
    params: dict[str, Any]
    metric: str
    pruner: dict[str, Any]
    """The ``tune.pruner`` spec (JSON), rebuilt by worker processes."""
    max_epochs: int
    settings: Settings
    deadline: float | None = None
    resume_run: int | None = None
    """A run of an interrupted attempt of this trial, continued from its checkpoint."""


@dataclass
class TrialOutcome:
    """How a trial ended."""

    number: int
    trial_id: int
    state: Outcome
    value: float | None = None
    run_id: int | None = None
    reason: str = ""
    epochs: int = 0
    seconds: float = 0.0
    abort: bool = False
    """The error will repeat in every trial (the search stops)."""
    params: dict[str, Any] = field(default_factory=dict)


def run_trial(task: TrialTask, trial: Any = None) -> TrialOutcome:
    """Train the trial's spec, reporting each epoch's metric to ``trial`` for pruning.

    Args:
        task: the trial's spec, metric, pruner and budget.
        trial: the Optuna trial; ``None`` in a worker process, which opens it by id.

    Returns:
        complete (with the value of the run's final weights), pruned, stopped (budget),
        interrupted (SIGINT/SIGTERM: the search stops, the trial runs again next time) or
        failed (with the reason).
    """
    from athanor.api.training import resume, train
    from athanor.tune.study import build_pruner, heartbeat, open_storage

    started = time.perf_counter()
    storage = open_storage(task.settings)
    if trial is None:
        import optuna
        from optuna.samplers import RandomSampler

        from athanor.spec.tune import TuneSpec

        pruner_spec = TuneSpec.model_validate({"pruner": task.pruner}).pruner
        study = optuna.load_study(
            study_name=task.study_name,
            storage=storage,
            sampler=RandomSampler(),
            pruner=build_pruner(pruner_spec, task.max_epochs),
        )
        trial = optuna.trial.Trial(study, task.trial_id)
    reporter = TrialReporter(
        trial, task.metric, pruner=str(task.pruner.get("type")), deadline=task.deadline
    )
    outcome = TrialOutcome(task.number, task.trial_id, "failed", params=task.params)
    try:
        with heartbeat(storage, task.trial_id):
            result = None
            if task.resume_run is not None:
                try:
                    result = resume(
                        task.resume_run,
                        progress=False,
                        callbacks=[reporter],
                        settings=task.settings,
                        evaluate_test=False,
                    )
                except UserError:
                    result = None  # no checkpoint yet, or already finished: train afresh
            if result is None:
                result = train(
                    task.spec,
                    progress=False,
                    callbacks=[reporter],
                    settings=task.settings,
                    evaluate_test=False,
                )
    except MetricMissing as exc:
        outcome.reason, outcome.abort = str(exc), True
    except UserError as exc:
        outcome.reason = str(exc).splitlines()[0]
    except Exception as exc:  # a trial's bug fails the trial, not the search
        outcome.reason = (
            f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        )
    else:
        run = result.run
        outcome.run_id = run.id
        if run.status == RunStatus.SUCCEEDED:
            value = run.summary.get("metrics", {}).get(task.metric)
            if value is None or not math.isfinite(float(value)):
                outcome.reason = f"{task.metric} is {value} at the end"
            else:
                outcome.state, outcome.value = "complete", float(value)
                outcome.reason = run.status_reason
        elif reporter.pruned:
            outcome.state, outcome.reason = "pruned", reporter.pruned
        elif reporter.out_of_time:
            outcome.state = "stopped"
            outcome.reason = f"stopped at epoch {reporter.epochs}: the time budget ran out"
        else:
            outcome.state, outcome.reason = "interrupted", run.status_reason
    outcome.epochs = reporter.epochs
    outcome.run_id = outcome.run_id or reporter.run_id
    if outcome.value is None and outcome.state in ("pruned", "stopped"):
        outcome.value = reporter.last_value
    outcome.seconds = time.perf_counter() - started
    return outcome
