"""One trial: train the trial's concrete spec as a recorded run, judged on validation only.

:func:`run_trial` is what every executor runs, in this process or in a worker process (which
opens the trial from the searches' database by its id). It never looks at the test split:
trial runs are trained with ``evaluate_test=False``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from athanor.errors import UserError
from athanor.settings import Settings
from athanor.store import RunStatus
from athanor.training.callbacks.base import Callback
from athanor.tuning.pruning import MetricMissing, TrialReporter

Outcome = Literal["complete", "pruned", "held", "stopped", "failed", "interrupted"]


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
    """A run of an interrupted (or held) attempt of this trial, continued from its
    checkpoint."""
    stop_at: float | None = None
    """The search's ``tune.stop_at``: the trial ends at the first epoch that reaches it."""


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
    lost: bool = False
    """An interrupted trial whose worker was lost (a Ray worker or node died): it is queued
    again and the search goes on, rather than stopping."""
    params: dict[str, Any] = field(default_factory=dict)


def run_trial(task: TrialTask, trial: Any = None) -> TrialOutcome:
    """Train the trial's spec, reporting each epoch's metric to ``trial`` for pruning.

    Args:
        task: the trial's spec, metric, pruner and budget.
        trial: the Optuna trial; ``None`` in a worker process, which opens it by id.

    Returns:
        complete (with the value of the run's final weights), pruned, held (at ASHA's first
        rung, until enough trials reach it), stopped (budget), interrupted (SIGINT/SIGTERM:
        the search stops, the trial runs again next time) or failed (with the reason).
    """
    from athanor.runs import resume, train
    from athanor.tuning.study import heartbeat, open_storage

    started = time.perf_counter()
    storage = open_storage(task.settings)
    if trial is None:
        trial = open_trial(
            storage, task.study_name, task.trial_id, pruner=task.pruner, max_epochs=task.max_epochs
        )
    reporter = TrialReporter(
        trial,
        task.metric,
        pruner=str(task.pruner.get("type")),
        deadline=task.deadline,
        stop_at=task.stop_at,
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
        elif reporter.held:
            outcome.state, outcome.reason = "held", reporter.held
        elif reporter.out_of_time:
            outcome.state = "stopped"
            outcome.reason = f"stopped at epoch {reporter.epochs}: the time budget ran out"
        else:
            outcome.state, outcome.reason = "interrupted", run.status_reason
    outcome.epochs = reporter.epochs
    outcome.run_id = outcome.run_id or reporter.run_id
    if outcome.value is None and outcome.state in ("pruned", "held", "stopped"):
        outcome.value = reporter.last_value
    outcome.seconds = time.perf_counter() - started
    return outcome


def open_trial(
    storage: Any, study_name: str, trial_id: int, *, pruner: dict[str, Any], max_epochs: int
) -> Any:
    """The Optuna trial ``trial_id`` of a search, opened in a process other than the search's
    (a worker process, or a platform job), with the search's pruner."""
    import optuna
    from optuna.samplers import RandomSampler

    from athanor.spec.tune import TuneSpec
    from athanor.tuning.study import build_pruner

    pruner_spec = TuneSpec.model_validate({"pruner": pruner}).pruner
    study = optuna.load_study(
        study_name=study_name,
        storage=storage,
        sampler=RandomSampler(),
        pruner=build_pruner(pruner_spec, max_epochs),
    )
    return optuna.trial.Trial(study, trial_id)


class JobTrial(BaseModel):
    """The trial a platform job trains (``trial`` of ``POST /v1/jobs``, set by searches that
    run their trials through the job queue); kept in the run's summary under ``trial``."""

    model_config = ConfigDict(extra="forbid")

    study_name: str = Field(min_length=1, max_length=512)
    trial_id: int = Field(ge=0)
    number: int = Field(ge=0)
    metric: str = Field(pattern=r"^val_[A-Za-z0-9_]+$")
    pruner: dict[str, Any]
    max_epochs: int = Field(ge=1)
    tuning_url: str = Field(
        min_length=1, description="The searches' database (the worker opens the trial there)."
    )
    deadline: float | None = Field(default=None, description="Unix time the budget ends.")
    stop_at: float | None = Field(default=None, description="The search's tune.stop_at.")


def job_trial_of(task: TrialTask) -> JobTrial:
    """What a job needs to know of ``task`` to report to its trial."""
    return JobTrial(
        study_name=task.study_name,
        trial_id=task.trial_id,
        number=task.number,
        metric=task.metric,
        pruner=task.pruner,
        max_epochs=task.max_epochs,
        tuning_url=task.settings.tuning_url,
        deadline=task.deadline,
        stop_at=task.stop_at,
    )


@contextmanager
def reporting_to_trial(info: dict[str, Any], settings: Settings) -> Iterator[TrialReporter]:
    """In a platform worker: the callback that reports the job's run to its trial (pruning
    it, stopping it at the search's deadline), with the trial's heartbeat while it trains.

    What the reporter saw (pruned, out of time, epochs, the last value) is merged into the
    run's summary under ``trial`` afterwards, where the search reads how the trial ended.
    """
    from dataclasses import replace

    from athanor.tuning.study import heartbeat, open_storage

    job_trial = JobTrial.model_validate(info)
    storage = open_storage(replace(settings, tune_db_url=job_trial.tuning_url))
    trial = open_trial(
        storage,
        job_trial.study_name,
        job_trial.trial_id,
        pruner=job_trial.pruner,
        max_epochs=job_trial.max_epochs,
    )
    pruner = str(job_trial.pruner.get("type"))
    reporter = TrialReporter(
        trial,
        job_trial.metric,
        pruner=pruner,
        deadline=job_trial.deadline,
        stop_at=job_trial.stop_at,
    )
    with heartbeat(storage, job_trial.trial_id):
        yield reporter


class FindingsRecorder(Callback):
    """Merges what a job's reporter saw (pruned, out of time, epochs, the last value) into
    the run's summary under ``trial`` when training ends, before the run's final status is
    written, so that the search reads both together (see :func:`outcome_of_job`)."""

    def __init__(
        self, runs: Any, run_id: int, reporter: TrialReporter, trial: dict[str, Any]
    ) -> None:
        self.runs = runs
        self.run_id = run_id
        self.reporter = reporter
        self.trial = trial

    def on_fit_end(self, trainer, state) -> None:
        seen = {
            "pruned": self.reporter.pruned,
            "held": self.reporter.held,
            "out_of_time": self.reporter.out_of_time,
            "epochs": self.reporter.epochs,
            "last_value": self.reporter.last_value,
        }
        self.runs.update(self.run_id, summary={"trial": {**self.trial, **seen}})


def outcome_of_job(task: TrialTask, job: dict[str, Any]) -> TrialOutcome:
    """How a trial trained as a platform job ended, from the job as the API shows it."""
    summary = job.get("summary") or {}
    seen = summary.get("trial") or {}
    status, reason = str(job.get("status")), str(job.get("reason") or "")
    outcome = TrialOutcome(
        task.number,
        task.trial_id,
        "failed",
        run_id=int(job["id"]),
        reason=reason.splitlines()[0] if reason else "",
        epochs=int(seen.get("epochs") or 0),
        seconds=float(job.get("duration_seconds") or 0.0),
        params=task.params,
    )
    if status == "succeeded":
        value = (summary.get("metrics") or {}).get(task.metric)
        if value is None or not math.isfinite(float(value)):
            outcome.reason = f"{task.metric} is {value} at the end"
        else:
            outcome.state, outcome.value = "complete", float(value)
    elif seen.get("pruned"):
        outcome.state, outcome.reason = "pruned", str(seen["pruned"])
    elif seen.get("held"):
        outcome.state, outcome.reason = "held", str(seen["held"])
    elif seen.get("out_of_time"):
        outcome.state = "stopped"
        outcome.reason = f"stopped at epoch {outcome.epochs}: the time budget ran out"
    elif status == "failed":
        outcome.abort = reason.startswith("tune.metric:")
    else:  # cancelled on the platform, or lost with its worker: it runs again next time
        outcome.state = "interrupted"
    if outcome.value is None and outcome.state in ("pruned", "held", "stopped"):
        outcome.value = seen.get("last_value")
    return outcome
