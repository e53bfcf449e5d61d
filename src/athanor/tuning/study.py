"""Searches kept as Optuna studies: storage, samplers, pruners, records and crash recovery.

Studies live in their own database (``tuning.db`` in the Athanor home, or
``ATHANOR_TUNE_DB_URL``: a SQLAlchemy URL such as PostgreSQL's, or
``journal:///shared/path/searches.log`` for Optuna's journal storage, a log file on a
filesystem every node of a cluster shares), never in the metadata database: Optuna migrates
its schema with its own Alembic history, which must not meet Athanor's. A search's record
(kind, definition, status, owner process) is kept in the study's user attributes, so the
study is the one source of truth that ``athanor tune list/show`` read.

A search that was killed leaves trials ``RUNNING``. When it is run again, those trials are
failed and queued again with the same parameters (and their run id, so that training
continues from the run's latest checkpoint); finished trials are never repeated. Trials
record Optuna heartbeats, so a search whose process died on another machine is recovered
the same way once its heartbeats are older than the grace period.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import sqlite3
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import optuna
from optuna.exceptions import ExperimentalWarning
from optuna.pruners import (
    BasePruner,
    HyperbandPruner,
    MedianPruner,
    NopPruner,
)
from optuna.samplers import BaseSampler, CmaEsSampler, GridSampler, RandomSampler, TPESampler
from optuna.storages import (
    BaseStorage,
    JournalStorage,
    RDBStorage,
    RetryHeartbeatStaleTrialCallback,
)
from optuna.storages._heartbeat import is_heartbeat_enabled
from optuna.storages.journal import JournalFileBackend
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError, OperationalError

from athanor.errors import NotFound, UserError
from athanor.settings import Settings
from athanor.spec.tune import SearchDefinition, SearchParam
from athanor.store.lease import Lease
from athanor.tuning import space
from athanor.tuning.asha import AshaPruner

optuna.logging.set_verbosity(optuna.logging.WARNING)

HEARTBEAT_SECONDS = 15
"""How often a running trial (and the search's own process) says it is alive."""
GRACE_SECONDS = 60
"""A trial whose heartbeat is older than this is taken for dead (another machine's search)."""

FINISHED_STATES = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)

JOURNAL_PREFIX = "journal:///"
"""``ATHANOR_TUNE_DB_URL=journal:///PATH``: Optuna's journal storage in the file ``/PATH``."""

_storages: dict[str, BaseStorage] = {}
_lock = threading.Lock()


def _quiet() -> Any:
    """Silence Optuna's notes that heartbeats and some sampler options are experimental."""
    context = warnings.catch_warnings()
    context.__enter__()
    warnings.simplefilter("ignore", ExperimentalWarning)
    return context


def journal_path(url: str) -> Path | None:
    """The log file of a ``journal:///PATH`` URL (``None`` for a database URL)."""
    return (
        Path("/" + url[len(JOURNAL_PREFIX) :].lstrip("/"))
        if url.startswith(JOURNAL_PREFIX)
        else None
    )


def open_storage(settings: Settings) -> BaseStorage:
    """The searches' database of ``settings`` (created on first use, one per process).

    SQLite files are put in WAL mode, so that parallel trial processes and a reader can share
    the file; ``journal:///PATH`` opens Optuna's journal storage in that file (its lock is a
    symlink beside it, which works on network filesystems); other URLs (PostgreSQL) are used
    as they are.
    """
    url = settings.tuning_url
    with _lock:
        storage = _storages.get(url)
        if storage is not None:
            return storage
        journal = journal_path(url)
        if journal is not None:
            journal.parent.mkdir(parents=True, exist_ok=True)
            storage = JournalStorage(JournalFileBackend(str(journal)))
            _storages[url] = storage
            return storage
        engine_kwargs: dict[str, Any] = {}
        if url.startswith("sqlite:///"):
            path = Path(url[len("sqlite:///") :])
            path.parent.mkdir(parents=True, exist_ok=True)
            for attempt in range(20):
                try:
                    with sqlite3.connect(path, timeout=30) as connection:
                        connection.execute("PRAGMA journal_mode=WAL")
                    break
                except sqlite3.OperationalError:
                    # changing the journal mode does not wait for a busy file: try again
                    if attempt == 19:
                        raise
                    time.sleep(0.25)
            engine_kwargs = {"connect_args": {"timeout": 30}}
        context = _quiet()
        try:
            for attempt in range(5):
                try:
                    storage = RDBStorage(
                        url,
                        engine_kwargs=engine_kwargs,
                        heartbeat_interval=HEARTBEAT_SECONDS,
                        grace_period=GRACE_SECONDS,
                        heartbeat_stale_trial_callback=retry_trial,
                    )
                    break
                except (OperationalError, IntegrityError):
                    # another process created the tables, or stamped their schema version
                    # (Optuna's Alembic table), at the same moment; both exist now
                    if attempt == 4:
                        raise
                    time.sleep(0.5)
        finally:
            context.__exit__(None, None, None)
        if url.startswith("sqlite:///"):
            _sync_at_checkpoints(storage.engine)
        _storages[url] = storage
        return storage


def _sync_at_checkpoints(engine: Any) -> None:
    """Commits of a WAL-mode SQLite file reach the disk at checkpoints, not each one
    (``synchronous=NORMAL``, as the metadata database does): every epoch's report is a
    commit, and syncing each one cost a pruned trial more than half its bookkeeping. A
    killed process loses nothing; a power cut may lose the last commits, and a lost trial
    is run again."""
    event.listen(engine, "connect", _normal_sync)
    engine.dispose()  # connections opened before the listener: reopened with it


def _normal_sync(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def close_storages() -> None:
    """Dispose every open searches' database (tests and forked workers call this)."""
    with _lock:
        for storage in _storages.values():
            if isinstance(storage, RDBStorage):  # a journal holds no connections
                storage.engine.dispose()
        _storages.clear()


def retry_trial(study: Study, trial: FrozenTrial) -> None:
    """Queue an interrupted trial again with the same parameters, its run id (to resume from
    its checkpoint) and its reported epochs, up to the search's ``max_retries``."""
    retries = int(study.user_attrs.get("max_retries", 2))
    context = _quiet()
    try:
        RetryHeartbeatStaleTrialCallback(max_retry=retries, inherit_intermediate_values=True)(
            study, trial
        )
    finally:
        context.__exit__(None, None, None)


# -- samplers and pruners --------------------------------------------------------------


class _GridSampler(GridSampler):
    """Optuna's grid sampler, without its ``study.stop()`` once the grid is covered: that
    works only inside ``Study.optimize``; a search stops itself at the grid's size."""

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState, values) -> None:
        return None


def build_sampler(
    spec: Any, params: list[SearchParam], seed: int, *, parallel: int = 1
) -> BaseSampler:
    """The Optuna sampler of a ``tune.sampler`` spec."""
    context = _quiet()
    try:
        if spec.type == "random":
            return RandomSampler(seed=seed)
        if spec.type == "grid":
            return _GridSampler(space.grid(params), seed=seed)
        if spec.type == "cmaes":
            return CmaEsSampler(
                n_startup_trials=spec.startup_trials,
                sigma0=spec.sigma0,
                seed=seed,
                warn_independent_sampling=False,
                independent_sampler=RandomSampler(seed=seed),
            )
        return TPESampler(
            n_startup_trials=spec.startup_trials,
            multivariate=spec.multivariate,
            seed=seed,
            constant_liar=parallel > 1,  # parallel trials do not all pick the same point
        )
    finally:
        context.__exit__(None, None, None)


def pruner_summary(spec: Any, max_epochs: int) -> str:
    """The pruner in a few words, with the epochs at which ASHA judges trials."""
    if spec.type != "asha":
        return spec.type
    first = spec.min_epochs * spec.reduction_factor**spec.min_early_stopping_rate
    rungs = []
    while first < max_epochs and len(rungs) < 8:
        rungs.append(first)
        first *= spec.reduction_factor
    if not rungs:
        return f"asha (no rung below {max_epochs} epochs: no trial is pruned)"
    quorum = spec.first_rung_quorum
    return (
        f"asha (keeps the top 1/{spec.reduction_factor} at epochs {', '.join(map(str, rungs))}"
        + (f", epoch {rungs[0]} once {quorum} trials reach it" if quorum > 1 else "")
        + ")"
    )


def build_pruner(spec: Any, max_epochs: int) -> BasePruner:
    """The Optuna pruner of a ``tune.pruner`` spec; epochs are its steps."""
    if spec.type == "asha":
        return AshaPruner(
            min_resource=spec.min_epochs,
            reduction_factor=spec.reduction_factor,
            min_early_stopping_rate=spec.min_early_stopping_rate,
            quorum=spec.first_rung_quorum,
        )
    if spec.type == "median":
        return MedianPruner(
            n_startup_trials=spec.startup_trials,
            n_warmup_steps=spec.warmup_epochs,
            interval_steps=spec.interval_epochs,
        )
    if spec.type == "hyperband":
        return HyperbandPruner(
            min_resource=spec.min_epochs,
            max_resource=spec.max_epochs or max(max_epochs, spec.min_epochs),
            reduction_factor=spec.reduction_factor,
        )
    return NopPruner()


def max_epochs(definition: SearchDefinition) -> int:
    """The most epochs a trial trains (``train.epochs``, or the top of its range)."""
    epochs = (definition.base.get("train") or {}).get("epochs", 10)
    if isinstance(epochs, dict):
        marker = next(p for p in definition.params if p.path == ("train", "epochs")).marker
        return int(max(marker.values) if hasattr(marker, "values") else marker.high)
    return int(epochs)


def direction_of(metric: str, direction: str) -> str:
    """``maximize`` or ``minimize`` for a validation metric (``auto``: by the metric)."""
    if direction != "auto":
        return direction
    from athanor.training.metrics import higher_is_better

    return "maximize" if higher_is_better(metric.split("_", 1)[1]) else "minimize"


# -- records -----------------------------------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class SearchRecord:
    """What a stored search is: its definition, state and trials."""

    id: int
    name: str
    kind: str
    status: str
    reason: str
    metric: str
    direction: str
    created_at: str
    seconds: float
    trials_target: int
    counts: dict[str, int]
    best: FrozenTrial | None
    definition: dict[str, Any]
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> int:
        return self.counts.get("done", 0)

    def to_json(self) -> dict[str, Any]:
        best = self.best
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "status": self.status,
            "reason": self.reason,
            "metric": self.metric,
            "direction": self.direction,
            "created_at": self.created_at,
            "seconds": round(self.seconds, 1),
            "trials": {"target": self.trials_target, **self.counts},
            "best": None
            if best is None
            else {
                "trial": best.number,
                "value": best.value,
                "run_id": best.user_attrs.get("run_id"),
            },
            "model": self.attrs.get("model"),
        }


def study_id(study: Study) -> int:
    """The search's number (its study id in the searches' database)."""
    return int(study.user_attrs["id"])


def retried_numbers(trials: list[FrozenTrial]) -> set[int]:
    """Numbers of failed trials that were queued again (they do not count as done)."""
    numbers: set[int] = set()
    for trial in trials:
        numbers.update(trial.system_attrs.get("retry_history", []))
    return numbers


def done_trials(trials: list[FrozenTrial]) -> list[FrozenTrial]:
    """Trials that count towards the search's number: completed, pruned, or failed for
    good (not interrupted trials that run again)."""
    retried = retried_numbers(trials)
    return [
        trial
        for trial in trials
        if trial.state in (TrialState.COMPLETE, TrialState.PRUNED)
        or (trial.state == TrialState.FAIL and trial.number not in retried)
    ]


def best_trial(trials: list[FrozenTrial], direction: str) -> FrozenTrial | None:
    """The completed trial with the best value (pruned trials have no finished model)."""
    complete = [
        t
        for t in trials
        if t.state == TrialState.COMPLETE and t.value is not None and math.isfinite(t.value)
    ]
    if not complete:
        return None
    sign = -1.0 if direction == "maximize" else 1.0
    return min(complete, key=lambda t: (sign * float(t.value), t.number))


def record_of(study: Study) -> SearchRecord:
    """The record of a search from its study."""
    attrs = study.user_attrs
    trials = study.get_trials(deepcopy=False)
    definition = attrs.get("definition", {})
    direction = "maximize" if study.direction == StudyDirection.MAXIMIZE else "minimize"
    counts = {state.name.lower(): 0 for state in TrialState}
    retried = retried_numbers(trials)
    for trial in trials:
        counts[trial.state.name.lower()] += 1
    counts["interrupted"] = sum(
        1 for t in trials if t.state == TrialState.FAIL and t.number in retried
    )
    counts["fail"] -= counts["interrupted"]  # interrupted trials ran again; they did not fail
    counts["done"] = len(done_trials(trials))
    return SearchRecord(
        id=study_id(study),
        name=study.study_name,
        kind=attrs.get("kind", "tune"),
        status=attrs.get("status", "running"),
        reason=attrs.get("reason", ""),
        metric=attrs.get("metric", definition.get("tune", {}).get("metric", "")),
        direction=direction,
        created_at=attrs.get("created_at", ""),
        seconds=float(attrs.get("seconds", 0.0)),
        trials_target=int(attrs.get("trials_target", 0)),
        counts=counts,
        best=best_trial(trials, direction),
        definition=definition,
        attrs=dict(attrs),
    )


def open_search(
    definition: SearchDefinition,
    settings: Settings,
    *,
    kind: str = "tune",
    name: str | None = None,
    new: bool = False,
) -> tuple[Study, bool]:
    """The study of ``definition``: the existing one with the same fingerprint (to continue
    it) or a new one.

    Args:
        definition: the checked search definition.
        settings: where the searches' database is.
        kind: ``tune`` or ``auto``.
        name: the study's name (default the spec's name and the definition's fingerprint).
        new: start a new search even when one with the same definition exists.

    Returns:
        The study and whether it already existed.
    """
    storage = open_storage(settings)
    name = name or f"{definition.name}-{definition.fingerprint()[:8]}"
    existing = {study.study_name for study in storage.get_all_studies()}
    if new and name in existing:
        suffix = 2
        while f"{name}-{suffix}" in existing:
            suffix += 1
        name = f"{name}-{suffix}"
    direction = direction_of(definition.tune.metric, definition.tune.direction)
    study = optuna.create_study(
        storage=storage, study_name=name, direction=direction, load_if_exists=True
    )
    existed = name in existing
    if not existed:
        study.set_user_attr("id", storage.get_study_id_from_name(name))
        study.set_user_attr("kind", kind)
        study.set_user_attr("definition", definition.to_json())
        study.set_user_attr("metric", definition.tune.metric)
        study.set_user_attr("created_at", _now())
        study.set_user_attr("status", "running")
        study.set_user_attr("seconds", 0.0)
    study.set_user_attr("max_retries", definition.tune.max_retries)
    return study, existed


def load_search_study(ref: int | str, settings: Settings) -> Study:
    """The study of search ``ref`` (its number or its name).

    Raises:
        NotFound: no such search.
    """
    storage = open_storage(settings)
    text = str(ref)
    try:
        name = storage.get_study_name_from_id(int(text)) if text.isdigit() else text
        storage.get_study_id_from_name(name)
    except KeyError:
        known = [study.study_name for study in storage.get_all_studies()]
        hint = f"; searches: {', '.join(known[-10:])}" if known else "; there are none yet"
        raise NotFound(f"no search {text}{hint}") from None
    return optuna.load_study(study_name=name, storage=storage, sampler=RandomSampler())


def list_records(settings: Settings) -> list[SearchRecord]:
    """Every search, newest first."""
    storage = open_storage(settings)
    records = [
        record_of(optuna.load_study(study_name=s.study_name, storage=storage))
        for s in storage.get_all_studies()
    ]
    return sorted(records, key=lambda r: r.id, reverse=True)


# -- ownership and recovery --------------------------------------------------------------


def _owner_lease(owner: dict[str, Any]) -> Lease:
    """The search's owner process as a lease (its ``beat`` is Unix time)."""
    beat = owner.get("beat")
    beat_at = datetime.fromtimestamp(float(beat), UTC) if beat is not None else None
    return Lease(int(owner["pid"]), str(owner.get("host", "")), beat_at)


def claim(study: Study, storage: BaseStorage) -> list[int]:
    """Make this process the search's owner, recovering what a dead owner left running.

    Returns:
        Numbers of the trials that were interrupted and queued again.

    Raises:
        UserError: another live process runs the search.
    """
    owner = study.user_attrs.get("owner") or {}
    host = socket.gethostname()
    running = study.user_attrs.get("status") == "running" and owner
    if (
        running
        and owner.get("pid") != os.getpid()
        and _owner_lease(owner).alive(timeout=GRACE_SECONDS)
    ):
        raise UserError(
            f"search {study_id(study)} ({study.study_name}) is running in process "
            f"{owner['pid']} on {owner['host']}; wait for it or stop it first"
        )
    study.set_user_attr("owner", {"pid": os.getpid(), "host": host, "beat": time.time()})
    study.set_user_attr("status", "running")
    study.set_user_attr("reason", "")
    recovered: list[int] = []
    stale = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.RUNNING]
    if owner.get("host") in (host, None) or not is_heartbeat_enabled(storage):
        # The owner was this machine's process, and it is gone: its trials are dead now,
        # no need to wait for their heartbeats to age. A storage without heartbeats (the
        # journal) cannot tell either: the owner's trials die with it (worker processes and
        # Ray tasks do), so they are taken for dead too.
        for trial in stale:
            if storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL):
                retry_trial(study, storage.get_trial(trial._trial_id))
                recovered.append(trial.number)
    else:
        before = {t.number for t in stale}
        optuna.storages.fail_stale_trials(study)
        now = {t.number for t in study.get_trials(deepcopy=False) if t.state == TrialState.FAIL}
        recovered = sorted(before & now)
    return recovered


def beat(study: Study) -> None:
    """Say that the owner is alive (for processes on other machines that look)."""
    owner = dict(study.user_attrs.get("owner") or {})
    owner["beat"] = time.time()
    study.set_user_attr("owner", owner)


def release(study: Study, status: str, reason: str, seconds: float) -> None:
    """Record how this session of the search ended and the time it has taken in all."""
    study.set_user_attr("status", status)
    study.set_user_attr("reason", reason)
    study.set_user_attr("seconds", float(study.user_attrs.get("seconds", 0.0)) + seconds)
    owner = dict(study.user_attrs.get("owner") or {})
    owner["ended"] = time.time()
    study.set_user_attr("owner", owner)


@contextmanager
def heartbeat(storage: BaseStorage, trial_id: int) -> Iterator[None]:
    """Record the trial's heartbeat every :data:`HEARTBEAT_SECONDS` while it runs (storages
    without heartbeats, the journal, record none)."""
    if not is_heartbeat_enabled(storage):
        yield
        return
    stop = threading.Event()

    def beat_loop() -> None:
        while True:
            with contextlib.suppress(Exception):  # a missed heartbeat must not kill the trial
                storage.record_heartbeat(trial_id)
            if stop.wait(HEARTBEAT_SECONDS):
                return

    thread = threading.Thread(target=beat_loop, name=f"trial-{trial_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
