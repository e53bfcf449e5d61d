"""Running a search: ask the sampler for trials, run them, tell the outcomes, report.

``athanor.tune(spec, trials=20, budget="10m")`` and ``athanor tune SPEC`` land here. The
search is an Optuna study in the searches' database; running the same spec again continues
it (finished trials are kept, interrupted ones run again from their checkpoints). Trials are
ranked on the validation metric alone; the test split is looked at only when the best trial
is registered, once.
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from optuna.storages._heartbeat import is_heartbeat_enabled
from optuna.study import Study
from optuna.trial import TrialState
from rich.console import Console

from athanor.errors import SpecError, UserError
from athanor.runs.recovery import reconcile_orphans
from athanor.settings import Settings, current_settings
from athanor.spec.tune import SearchDefinition, format_duration, grid_size, is_marker, load_search
from athanor.store import ModelVersionRecord, open_store
from athanor.tuning import space
from athanor.tuning.asha import first_rung_values, judge_held
from athanor.tuning.executors import (
    InProcessExecutor,
    JobQueueExecutor,
    ProcessExecutor,
    TrialExecutor,
)
from athanor.tuning.progress import SearchProgress
from athanor.tuning.pruning import reaches_stop_at
from athanor.tuning.report import search_report, write_report
from athanor.tuning.study import (
    HEARTBEAT_SECONDS,
    SearchRecord,
    beat,
    best_trial,
    build_pruner,
    build_sampler,
    claim,
    done_trials,
    load_search_study,
    max_epochs,
    open_search,
    open_storage,
    pruner_summary,
    record_of,
    release,
    retry_trial,
)
from athanor.tuning.trials import TrialOutcome, TrialTask

FAILURES_BEFORE_GIVING_UP = 3
"""A search whose first trials all fail stops: the cause is in the spec, not the luck."""


@dataclass
class SearchResult:
    """What a search (session) did and found."""

    record: SearchRecord
    report: dict[str, Any]
    report_paths: dict[str, Path]
    recovered: list[int] = field(default_factory=list)
    """Trials interrupted by an earlier session that ran again in this one."""
    test_metrics: dict[str, float] = field(default_factory=dict)
    model_version: ModelVersionRecord | None = None

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def best(self) -> dict[str, Any] | None:
        return self.report.get("best")


def _spec_source(spec: Any) -> Any:
    if isinstance(spec, str | os.PathLike):
        from athanor.spec.examples import resolve_spec_path

        return resolve_spec_path(spec)
    return spec


def tune(
    spec: str | Path | Mapping[str, Any],
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
    *,
    trials: int | None = None,
    budget: str | float | None = None,
    parallel: int | None = None,
    sampler: str | Mapping[str, Any] | None = None,
    pruner: str | Mapping[str, Any] | None = None,
    metric: str | None = None,
    stop_at: float | None = None,
    register_as: str | None = None,
    new: bool = False,
    progress: bool = True,
    console: Console | None = None,
    settings: Settings | None = None,
    executor: TrialExecutor | str | None = None,
    platform: Any = None,
    ray_address: str | None = None,
) -> SearchResult:
    """Search the spec's marked values for the best validation metric.

    Each trial is a recorded training run of the spec with the markers filled in. A search
    with the same spec and space as a stored one continues it.

    Args:
        spec: a YAML path or a mapping, with search markers and an optional ``tune`` section.
        overrides: ``--set`` style overrides (they may set markers).
        trials: trials in the search (``tune.trials``).
        budget: wall-clock limit of this invocation, e.g. ``"10m"`` (``tune.budget``).
        parallel: trials at once, each in a worker process (``tune.parallel``).
        sampler: ``tpe``, ``random``, ``grid`` or ``cmaes``, or a mapping with options
            (``tune.sampler``).
        pruner: ``asha``, ``median``, ``hyperband`` or ``none``, or a mapping with options
            (``tune.pruner``).
        metric: the validation metric to rank trials by (``tune.metric``).
        stop_at: end the search once a completed trial's metric reaches this value
            (``tune.stop_at``; at or below it for minimized metrics).
        register_as: test the best trial's model once and register it under this name
            (default: the spec's ``register_as``).
        new: start a new search even if this one was run before.
        progress: show progress with ETA on standard error.
        console: where progress goes.
        settings: store locations (default: the environment).
        executor: where trials run: ``local`` (the default: this process, or worker
            processes when ``parallel`` > 1), ``ray`` (Ray tasks on a cluster, ``parallel``
            in flight; see :mod:`athanor.tuning.ray_trials`) or a :class:`TrialExecutor`.
        platform: a client of the platform (``athanor.server.client.PlatformClient()``):
            trials run as its jobs, ``parallel`` of them submitted at once.
        ray_address: the Ray cluster of ``executor="ray"``: ``auto`` (the default),
            ``HOST:PORT``, ``ray://HOST:PORT`` or ``local``.

    Returns:
        The search's record, report (leaderboard, importance) and registered model.

    Raises:
        SpecError: a bad spec, marker or tune option, before any trial.
        UserError: the search is running elsewhere, or every early trial failed.
        SharedStorageRequired: ``executor="ray"`` on a cluster of several nodes with SQLite
            storage.
    """
    settings = settings or current_settings()
    definition = load_search(
        _spec_source(spec),
        overrides,
        tune={
            "trials": trials,
            "budget": budget,
            "parallel": parallel,
            "sampler": sampler,
            "pruner": pruner,
            "metric": metric,
            "stop_at": stop_at,
        },
    )
    return run_search(
        definition,
        settings=settings,
        register_as=register_as or definition.base.get("register_as"),
        new=new,
        progress=progress,
        console=console,
        executor=executor,
        platform=platform,
        ray_address=ray_address,
    )


def resume_search(
    ref: int | str,
    *,
    trials: int | None = None,
    budget: str | float | None = None,
    parallel: int | None = None,
    stop_at: float | None = None,
    register_as: str | None = None,
    progress: bool = True,
    console: Console | None = None,
    settings: Settings | None = None,
    platform: Any = None,
    executor: TrialExecutor | str | None = None,
    ray_address: str | None = None,
) -> SearchResult:
    """Continue a stored search (after a crash, Ctrl-C, or to add trials); ``platform``,
    ``executor`` and ``ray_address`` as for :func:`tune`. ``trials``, ``budget``,
    ``parallel`` and ``stop_at`` replace the stored ones when given.

    Raises:
        NotFound: no such search.
    """
    settings = settings or current_settings()
    study = load_search_study(ref, settings)
    stored = dict(study.user_attrs["definition"])
    tune_data = dict(stored["tune"])
    options = {"trials": trials, "budget": budget, "parallel": parallel, "stop_at": stop_at}
    for key, value in options.items():
        if value is not None:
            tune_data[key] = value
    definition = SearchDefinition.from_json({**stored, "tune": tune_data})
    return run_search(
        definition,
        settings=settings,
        kind=study.user_attrs.get("kind", "tune"),
        name=study.study_name,
        register_as=register_as,
        progress=progress,
        console=console,
        platform=platform,
        executor=executor,
        ray_address=ray_address,
    )


EXECUTORS = ("local", "ray")
"""Executors a search names (``executor=``, ``--executor``); ``platform`` takes a client."""


def build_executor(
    name: str,
    *,
    parallel: int,
    settings: Settings,
    platform: Any = None,
    ray_address: str | None = None,
) -> TrialExecutor:
    """The executor called ``name`` (see :data:`EXECUTORS`) for ``parallel`` trials at once.

    Raises:
        SpecError: an unknown name, or a platform as well as another executor.
    """
    if name not in EXECUTORS:
        raise SpecError(f"executor: '{name}' is not one; valid: {', '.join(EXECUTORS)}")
    if platform is not None:
        raise SpecError(
            f"executor: '{name}' and a platform were both given; trials run in one place"
        )
    if name == "ray":
        from athanor.tuning.ray_trials import RayTrialExecutor

        return RayTrialExecutor(parallel, address=ray_address or "auto", settings=settings)
    if ray_address is not None:
        raise SpecError("ray_address: only for executor 'ray'")
    return ProcessExecutor(parallel) if parallel > 1 else InProcessExecutor()


def _trial_target(definition: SearchDefinition) -> int:
    target = definition.tune.trials
    if definition.tune.sampler.type == "grid":
        target = min(target, grid_size(definition.params))
    return target


def _check_dataset(definition: SearchDefinition, settings: Settings) -> None:
    data = definition.base.get("data")
    dataset = data.get("dataset") if isinstance(data, dict) else data
    if isinstance(dataset, str) and not is_marker(dataset):
        from athanor.data.versions import resolve_dataset

        resolve_dataset(dataset, settings)  # an unknown name fails before any trial


def run_search(
    definition: SearchDefinition,
    *,
    settings: Settings,
    kind: str = "tune",
    name: str | None = None,
    register_as: str | None = None,
    new: bool = False,
    progress: bool = True,
    console: Console | None = None,
    executor: TrialExecutor | str | None = None,
    platform: Any = None,
    ray_address: str | None = None,
    display: SearchProgress | None = None,
    report_extra: Mapping[str, Any] | None = None,
    budget_ends: bool = False,
) -> SearchResult:
    """Run (or continue) the search of a checked definition; see :func:`tune`.

    ``budget_ends``: the budget running out is the search's planned end (``auto``), not a
    stop to be continued.
    """
    if register_as:
        from athanor.registry.registry import check_model_name

        check_model_name(register_as)
    _check_dataset(definition, settings)
    built = isinstance(executor, str)
    if isinstance(executor, str):  # before any study is made: Ray's storage check
        executor = build_executor(
            executor,
            parallel=definition.tune.parallel,
            settings=settings,
            platform=platform,
            ray_address=ray_address,
        )
    elif ray_address is not None:
        raise SpecError("ray_address: only for executor 'ray'")
    try:
        # create (migrate) the metadata database here, not in several trial processes at once
        reconcile_orphans(open_store(settings))
        storage = open_storage(settings)
        study, existed = open_search(definition, settings, kind=kind, name=name, new=new)
        recovered = claim(study, storage)
        tune_spec = definition.tune
        target = _trial_target(definition)
        study.set_user_attr("trials_target", target)
        epochs = max_epochs(definition)
        base_seed = tune_spec.seed if tune_spec.seed is not None else definition.base.get("seed", 0)
        seed = (base_seed if isinstance(base_seed, int) else 0) + len(study.trials)
        # seeded by the trials so far, so that a continued search does not draw the same points
        study.sampler = build_sampler(
            tune_spec.sampler, definition.params, seed, parallel=tune_spec.parallel
        )
        study.pruner = build_pruner(tune_spec.pruner, epochs)
        display = display or SearchProgress(console, enabled=progress)
        record = record_of(study)
        if existed:
            display.note(
                f"continuing search {record.id} ({study.study_name}): {record.done} of {target} "
                "trials done"
                + (
                    f"; trial(s) {', '.join(map(str, recovered))} interrupted, run again"
                    if recovered
                    else ""
                )
            )
        else:
            display.note(
                f"search {record.id} ({study.study_name}): {target} trials of "
                f"{len(definition.params)} parameter(s), sampler {tune_spec.sampler.type}, "
                f"pruner {pruner_summary(tune_spec.pruner, epochs)}, metric {tune_spec.metric}"
                + (f", stopping at {tune_spec.stop_at:g}" if tune_spec.stop_at is not None else "")
            )
        started = time.time()
        deadline = started + tune_spec.budget if tune_spec.budget else None
        if executor is None and platform is not None:
            executor = JobQueueExecutor(platform, tune_spec.parallel)
        runner = executor or (
            ProcessExecutor(tune_spec.parallel) if tune_spec.parallel > 1 else InProcessExecutor()
        )
    except BaseException:
        if built and executor is not None:  # e.g. the Ray connection made for this search
            executor.close()
        raise
    session = _Session(study, storage, definition, settings, runner, display, target, deadline)
    session.budget_ends = budget_ends
    display.start(
        f"search {record.id}",
        done=record.done,
        target=target,
        slots=runner.slots,
        metric=tune_spec.metric,
        deadline=deadline,
        best=session.best(),
    )
    try:
        status, reason = session.run(epochs)
    finally:
        display.stop()
        session.abandon_pending()
        runner.close()
        release(study, *session.ending, time.time() - started)
    display.note(f"search {record.id} {status}" + (f": {reason}" if reason else ""))
    result = finish_search(study, settings, register_as=register_as, extra=report_extra)
    result.recovered = recovered
    return result


def finish_search(
    study: Study,
    settings: Settings,
    *,
    register_as: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> SearchResult:
    """Register the best trial when asked (testing it once), then write the report."""
    from athanor.runs import test_run

    record = record_of(study)
    test_metrics: dict[str, float] = {}
    version = None
    if register_as:
        if record.best is None:
            raise UserError(
                f"search {record.id} has no completed trial to register (see "
                f"'athanor tune show {record.id}')"
            )
        tested = test_run(
            int(record.best.user_attrs["run_id"]),
            register_as=register_as,
            description=f"best trial ({record.best.number}) of search {record.id}",
            settings=settings,
        )
        test_metrics, version = tested.test_metrics, tested.model_version
        study.set_user_attr("test_metrics", test_metrics)
        study.set_user_attr("tested_trial", record.best.number)
        if version is not None:
            study.set_user_attr("model", version.ref)
    report = search_report(study, dict(extra) if extra else None)
    folder = open_store(settings).artifacts.root / "searches" / str(record.id)
    paths = write_report(report, folder)
    return SearchResult(record_of(study), report, paths, [], test_metrics, version)


def _trial_id(trial: Any) -> int:
    """The trial's id in the searches' database (Optuna keeps it in a private attribute;
    worker processes open the trial by it)."""
    return int(trial._trial_id)


@dataclass
class _Held:
    """A trial held at ASHA's first rung: its task, its value there, its run to go on from."""

    task: TrialTask
    value: float
    epochs: int
    run_id: int | None
    seconds: float


class _Session:
    """The ask-run-tell loop of one invocation of a search."""

    def __init__(
        self,
        study: Study,
        storage: Any,
        definition: SearchDefinition,
        settings: Settings,
        executor: TrialExecutor,
        display: SearchProgress,
        target: int,
        deadline: float | None,
    ) -> None:
        self.study = study
        self.storage = storage
        self.definition = definition
        self.settings = settings
        self.executor = executor
        self.display = display
        self.target = target
        self.deadline = deadline
        self.pending: dict[int, TrialTask] = {}
        self.distributions = space.distributions(definition.params)
        self.direction = "maximize" if study.direction.name == "MAXIMIZE" else "minimize"
        self.ending: tuple[str, str] = ("stopped", "interrupted")
        self.failures: list[str] = []
        self.last_beat = time.time()
        self.budget_ends = False
        self.held: dict[int, _Held] = {}
        """Trials held at ASHA's first rung (open in the study) until it has its quorum."""
        self.released: list[_Held] = []
        """Held trials that ranked in the top 1/r: they go on before any new trial."""
        self.continued_seconds: dict[int, float] = {}
        """Seconds that released trials spent before they were held, added when they end."""

    def best(self) -> tuple[float, int] | None:
        trial = best_trial(self.study.get_trials(deepcopy=False), self.direction)
        return None if trial is None else (float(trial.value), trial.number)

    def done(self) -> int:
        return len(done_trials(self.study.get_trials(deepcopy=False)))

    def out_of_time(self) -> bool:
        return self.deadline is not None and time.time() >= self.deadline

    def reached(self, value: float | None) -> bool:
        """Whether ``value`` reaches ``tune.stop_at`` (never without one)."""
        return reaches_stop_at(
            value, self.definition.tune.stop_at, maximize=self.direction == "maximize"
        )

    def _reached_reason(self) -> str | None:
        best = self.best()
        if best is None or not self.reached(best[0]):
            return None
        tune_spec = self.definition.tune
        return (
            f"trial {best[1]} reached {tune_spec.metric} {best[0]:.6g} "
            f"(stop_at {tune_spec.stop_at:g})"
        )

    def run(self, epochs: int) -> tuple[str, str]:
        """Keep the executor busy until the target, the deadline or a stop; returns
        (status, reason)."""
        reached = self._reached_reason()  # a continued search may have reached it before
        stop: tuple[str, str] | None = ("finished", reached) if reached else None
        try:
            while True:
                if self.held:  # the first rung may have its quorum from trials still running
                    self._judge_held()
                done = self.done()
                while (
                    stop is None
                    and len(self.pending) < self.executor.slots
                    and not self.out_of_time()
                ):
                    if self.released:
                        self._continue_held(self.released.pop(0))
                    elif self.started(done) < self.target:
                        self._start_trial(epochs)
                        done = self.done()
                    else:
                        break
                if not self.pending:
                    if stop is None and not self.out_of_time() and self._judge_held(final=True):
                        continue  # no trial is left to reach the first rung: judge by those
                    break
                for outcome in self.executor.wait(timeout=1.0):
                    stop = self._record(outcome) or stop
                if time.time() - self.last_beat > HEARTBEAT_SECONDS:
                    beat(self.study)
                    self._beat_held()
                    self.last_beat = time.time()
                self.display.refresh()
        except KeyboardInterrupt:
            self.ending = ("stopped", "interrupted; run it again to continue")
            self.executor.interrupt()
            self._drain(seconds=60.0)
            raise
        except BaseException as exc:
            self.ending = ("failed", f"{type(exc).__name__}: {exc}")
            raise
        if stop is None or stop[0] != "stopped":  # else abandon_pending queues them again
            self._end_held("the search ended" if stop is None else stop[1])
        if stop is not None:
            self.ending = stop
        elif self.done() >= self.target:
            self.ending = ("finished", f"{self.target} trial(s) done")
        elif self.budget_ends:
            budget = format_duration(self.definition.tune.budget or 0)
            self.ending = ("finished", f"the time budget ({budget}) allowed {self.done()} trial(s)")
        else:
            budget = format_duration(self.definition.tune.budget or 0)
            self.ending = (
                "stopped",
                f"the time budget ({budget}) ran out after {self.done()} of {self.target} "
                "trial(s); run it again to continue",
            )
        return self.ending

    def _drain(self, seconds: float) -> None:
        """After Ctrl-C: worker processes got it too and stop their trials at the next step
        with a checkpoint; record those outcomes (a second Ctrl-C gives up waiting)."""
        limit = time.time() + seconds
        while self.pending and time.time() < limit:
            outcomes = self.executor.wait(timeout=1.0)
            if not outcomes and isinstance(self.executor, InProcessExecutor):
                break  # its trial was the one interrupted; nothing else runs
            for outcome in outcomes:
                self._record(outcome)

    def _start_trial(self, epochs: int) -> None:
        with warnings.catch_warnings():
            # trials record their heartbeats themselves (study.heartbeat), not Study.optimize
            warnings.filterwarnings("ignore", message="Heartbeat of storage")
            trial = self.study.ask(self.distributions)
        values = space.decode(self.definition.params, trial.params)
        try:
            spec = self.definition.concrete(values, name=f"{self.definition.name}-t{trial.number}")
        except SpecError as exc:
            reason = str(exc).splitlines()[0]
            trial.set_user_attr("reason", reason)
            self.study.tell(trial, state=TrialState.FAIL)
            self.failures.append(reason)
            self.display.trial_done(
                TrialOutcome(
                    trial.number, _trial_id(trial), "failed", reason=reason, params=values
                ),
                self.done(),
                self.best(),
            )
            return
        task = TrialTask(
            study_name=self.study.study_name,
            trial_id=_trial_id(trial),
            number=trial.number,
            spec=spec.model_dump(mode="json"),
            params=values,
            metric=self.definition.tune.metric,
            pruner=self.definition.tune.pruner.model_dump(mode="json"),
            max_epochs=epochs,
            settings=self.settings,
            deadline=self.deadline,
            resume_run=trial.user_attrs.get("run_id"),
            stop_at=self.definition.tune.stop_at,
        )
        self.executor.submit(task, trial)
        self.pending[trial.number] = task

    def started(self, done: int) -> int:
        """Trials done, running or held: what counts against ``tune.trials``."""
        return done + len(self.pending) + len(self.held) + len(self.released)

    def _continue_held(self, held: _Held) -> None:
        """Run a released trial on from its checkpoint (or again, where it has none)."""
        import optuna

        if not self._still_open(held):
            return
        task = replace(held.task, resume_run=held.run_id or held.task.resume_run)
        self.executor.submit(task, optuna.trial.Trial(self.study, task.trial_id))
        self.pending[task.number] = task
        self.continued_seconds[task.number] = held.seconds

    def _judge_held(self, *, final: bool = False) -> bool:
        """Once ASHA's first rung has its quorum (or, ``final``, once no other trial will
        reach it), release the held trials in its top 1/r and prune the others; returns
        whether any was released."""
        if not self.held:
            return False
        pruner = self.definition.tune.pruner
        reached = first_rung_values(self.study.get_trials(deepcopy=False))
        if len(reached) < pruner.first_rung_quorum and not final:
            return False
        direction = self.study.direction
        released = False
        for held in sorted(self.held.values(), key=lambda held: held.task.number):
            if judge_held(held.value, reached, pruner.reduction_factor, direction):
                self.released.append(held)
                released = True
                continue
            reason = (
                f"pruned by asha at epoch {held.epochs} ({self.definition.tune.metric} "
                f"{held.value:.4g}): not in the top 1/{pruner.reduction_factor} of the "
                f"{len(reached)} trials there"
            )
            self._prune_held(held, reason)
        self.held.clear()
        return released

    def _end_held(self, reason: str) -> None:
        """Prune the trials still held (or released, not yet run on) as the search ends."""
        for held in [*self.held.values(), *self.released]:
            self._prune_held(held, f"held at the first rung when {reason}")
        self.held.clear()
        self.released.clear()

    def _still_open(self, held: _Held) -> bool:
        """Whether a held trial is still this session's: a process that took the search
        over (its owner's heartbeat gone stale) may have failed and queued it again."""
        return self.storage.get_trial(held.task.trial_id).state == TrialState.RUNNING

    def _prune_held(self, held: _Held, reason: str) -> None:
        if not self._still_open(held):
            return
        attrs = {
            "reason": reason,
            "seconds": round(held.seconds, 2),
            "epochs": held.epochs,
            "outcome": "pruned",
        }
        for key, value in attrs.items():
            self.storage.set_trial_user_attr(held.task.trial_id, key, value)
        self.study.tell(held.task.number, state=TrialState.PRUNED)
        self.display.trial_done(
            TrialOutcome(
                held.task.number,
                held.task.trial_id,
                "pruned",
                value=held.value,
                run_id=held.run_id,
                reason=reason,
                epochs=held.epochs,
                seconds=held.seconds,
                params=held.task.params,
            ),
            self.done(),
            self.best(),
        )

    def _beat_held(self) -> None:
        """Held trials are open in the study with nothing training them: record their
        heartbeats, or a stale-trial check would fail them and queue them again."""
        if not is_heartbeat_enabled(self.storage):
            return
        for held in [*self.held.values(), *self.released]:
            with contextlib.suppress(Exception):  # a missed heartbeat is not worth a stop
                self.storage.record_heartbeat(held.task.trial_id)

    def _record(self, outcome: TrialOutcome) -> tuple[str, str] | None:
        """Tell the study how a trial ended; returns (status, reason) when the search must
        stop."""
        task = self.pending.pop(outcome.number, None)
        earlier = self.continued_seconds.pop(outcome.number, 0.0)
        if outcome.state == "held" and task is not None and outcome.value is not None:
            self.held[outcome.number] = _Held(
                task, outcome.value, outcome.epochs, outcome.run_id, earlier + outcome.seconds
            )
            self.storage.set_trial_user_attr(outcome.trial_id, "reason", outcome.reason)
            if outcome.run_id is not None:
                self.storage.set_trial_user_attr(outcome.trial_id, "run_id", outcome.run_id)
            self.display.trial_done(outcome, self.done(), self.best())
            self._judge_held()
            return None
        if outcome.state == "held":  # nothing to hold it by: pruned as it would have been
            outcome.state = "pruned"
        outcome.seconds += earlier
        attrs = {
            "reason": outcome.reason,
            "seconds": round(outcome.seconds, 2),
            "epochs": outcome.epochs,
            "outcome": outcome.state,
        }
        if outcome.run_id is not None:
            attrs["run_id"] = outcome.run_id
        for key, value in attrs.items():
            self.storage.set_trial_user_attr(outcome.trial_id, key, value)
        stop = None
        if outcome.state == "complete":
            self.study.tell(outcome.number, outcome.value)
            if self.reached(outcome.value):
                stop = ("finished", self._reached_reason() or "")
        elif outcome.state in ("pruned", "stopped"):
            self.study.tell(outcome.number, state=TrialState.PRUNED)
        elif outcome.state == "interrupted":
            frozen = self.study.tell(outcome.number, state=TrialState.FAIL)
            retry_trial(self.study, frozen)
            if not outcome.lost:
                stop = (
                    "stopped",
                    f"trial {outcome.number} was interrupted ({outcome.reason}); "
                    "run the search again to continue it",
                )
            # a lost worker (a cluster's node) is no reason to stop: the trial was queued
            # again (up to tune.max_retries) and the next ask() continues it
        else:
            self.study.tell(outcome.number, state=TrialState.FAIL)
            self.failures.append(outcome.reason)
            if outcome.abort:
                stop = ("failed", outcome.reason)
        trials = self.study.get_trials(deepcopy=False)
        succeeded = any(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
        if not succeeded and len(self.failures) >= FAILURES_BEFORE_GIVING_UP and stop is None:
            stop = (
                "failed",
                f"the first {len(self.failures)} trials failed; the first: {self.failures[0]}",
            )
        self.display.trial_done(outcome, len(done_trials(trials)), self.best())
        self._judge_held()
        return stop

    def abandon_pending(self) -> None:
        """Trials still running when the session ends (Ctrl-C, an error, a trial interrupted)
        are failed and queued again, so that the next session continues them from their
        checkpoints; so are held trials in the top 1/r of the first rung, judged by what it
        has (a queued trial keeps its place past the rung), and the other held ones are
        pruned."""
        if self.held:
            with contextlib.suppress(Exception):  # best effort, as below
                self._judge_held(final=True)
        waiting = {held.task.number: held.task for held in [*self.held.values(), *self.released]}
        self.held.clear()
        self.released.clear()
        for number, task in list({**self.pending, **waiting}.items()):
            try:
                frozen = self.study.tell(number, state=TrialState.FAIL, skip_if_finished=True)
                if frozen.state == TrialState.FAIL:
                    retry_trial(self.study, frozen)
            except Exception:  # best effort; claim() recovers the rest
                pass
            self.pending.pop(number, None)
            del task
