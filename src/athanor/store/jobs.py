"""Jobs in the metadata database: runs submitted to the platform's queue.

A job is its run (same id): the run holds the spec, status, reason, metrics and summary; the
job row holds what scheduling needs (resources, priority, restarts), who executes it now (the
worker's pid, host, devices and heartbeat), the latest progress, a pending stop request and
the history of its attempts. Every state change is one short transaction, so the scheduler,
its workers and the CLI can share the store, and a killed process never leaves a job in a
state that the next one cannot read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.orm import Session

from athanor.errors import Conflict, NotFound
from athanor.store.artifacts import ArtifactStore
from athanor.store.database import refuse_reused_folder, write_session
from athanor.store.lease import Lease, utcnow
from athanor.store.lease import aware as _aware
from athanor.store.runs import RunRecord
from athanor.store.status import RunStatus, StatusChange, StopRequest
from athanor.store.tables import JobRow, RunRow

RESERVATION_SECONDS = 60.0
"""How long a scheduler's reservation of a queued job holds without a worker placed."""


@dataclass(frozen=True)
class JobRecord:
    """A job as stored: its run plus scheduling, worker, progress and attempts."""

    run: RunRecord
    priority: int
    resources: dict[str, Any]
    max_restarts: int
    restarts: int
    attempt: int
    stop_timeout: float
    submitted_by: str
    submitted_at: datetime
    wait_reason: str
    worker_pid: int | None
    worker_host: str
    devices: list[int]
    placed_at: datetime | None
    heartbeat_at: datetime | None
    stop_request: StopRequest | None
    stop_reason: str
    stop_requested_at: datetime | None
    stop_signalled_at: datetime | None
    progress: dict[str, Any] = field(default_factory=dict)
    attempts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.run.id

    @property
    def status(self) -> RunStatus:
        return self.run.status

    @property
    def lease(self) -> Lease:
        """The worker that holds the job; silent since its last heartbeat, or since it was
        placed when it has not beaten yet."""
        return Lease(self.worker_pid, self.worker_host, self.heartbeat_at or self.placed_at)

    @property
    def checkpoint_step(self) -> int | None:
        """The step of the newest checkpoint the run's summary names."""
        return ((self.run.summary or {}).get("checkpoint") or {}).get("step")

    @property
    def placed(self) -> bool:
        """Whether a worker holds (or is starting with) the job's resources."""
        return self.worker_pid is not None

    @property
    def gpus(self) -> int:
        return int(self.resources.get("gpus", 0))

    @property
    def cpus(self) -> int:
        return int(self.resources.get("cpus", 1))

    @property
    def memory_gb(self) -> float | None:
        value = self.resources.get("memory_gb")
        return None if value is None else float(value)

    @classmethod
    def from_rows(cls, job: JobRow, run: RunRow) -> JobRecord:
        return cls(
            run=RunRecord.from_row(run),
            priority=job.priority,
            resources=dict(job.resources or {}),
            max_restarts=job.max_restarts,
            restarts=job.restarts,
            attempt=job.attempt,
            stop_timeout=job.stop_timeout,
            submitted_by=job.submitted_by,
            submitted_at=_aware(job.submitted_at),  # type: ignore[arg-type]
            wait_reason=job.wait_reason,
            worker_pid=job.worker_pid,
            worker_host=job.worker_host,
            devices=list(job.devices or []),
            placed_at=_aware(job.placed_at),
            heartbeat_at=_aware(job.heartbeat_at),
            stop_request=StopRequest(job.stop_request) if job.stop_request else None,
            stop_reason=job.stop_reason,
            stop_requested_at=_aware(job.stop_requested_at),
            stop_signalled_at=_aware(job.stop_signalled_at),
            progress=dict(job.progress or {}),
            attempts=list(job.attempts or []),
        )


class JobRepository:
    """Submit, schedule, stop and recover jobs."""

    def __init__(self, engine: Engine, artifacts: ArtifactStore | None = None) -> None:
        self._engine = engine
        self._artifacts = artifacts
        """Where run folders live: a new job's run never gets an id whose folder exists."""

    # --- queries -----------------------------------------------------------------------

    def _select(self):
        return select(JobRow, RunRow).join(RunRow, RunRow.id == JobRow.run_id)

    def get(self, job_id: int) -> JobRecord:
        """The job with this id (the id of its run).

        Raises:
            NotFound: no such job.
        """
        with Session(self._engine) as session:
            found = session.execute(self._select().where(JobRow.run_id == job_id)).first()
            if found is None:
                if session.get(RunRow, job_id) is not None:
                    raise NotFound(f"run {job_id} was trained in the foreground, not as a job")
                raise NotFound(
                    f"job {job_id} does not exist (see 'athanor jobs list')",
                    code="job_not_found",
                    params={"id": job_id},
                )
            return JobRecord.from_rows(*found)

    def exists(self, job_id: int) -> bool:
        """Whether run ``job_id`` was submitted as a job."""
        with Session(self._engine) as session:
            return session.get(JobRow, job_id) is not None

    def among(self, run_ids: Iterable[int]) -> set[int]:
        """Which of ``run_ids`` were submitted as jobs (one query for a page of runs)."""
        wanted = list(run_ids)
        if not wanted:
            return set()
        with Session(self._engine) as session:
            return set(session.scalars(select(JobRow.run_id).where(JobRow.run_id.in_(wanted))))

    def list(
        self,
        *,
        status: RunStatus | str | None = None,
        limit: int = 50,
        offset: int = 0,
        archived: bool | None = None,
    ) -> list[JobRecord]:
        """Jobs, newest first (``archived``: only archived ones, only the others, or both)."""
        query = self._select().order_by(JobRow.run_id.desc()).limit(limit).offset(offset)
        if status is not None:
            query = query.where(RunRow.status == str(status))
        if archived is not None:
            column = RunRow.archived_at
            query = query.where(column.is_not(None) if archived else column.is_(None))
        with Session(self._engine) as session:
            return [JobRecord.from_rows(*row) for row in session.execute(query)]

    def queue(self) -> list[JobRecord]:
        """Queued jobs that no worker holds, in the order they start: priority, then FIFO."""
        query = (
            self._select()
            .where(RunRow.status == str(RunStatus.QUEUED), JobRow.worker_pid.is_(None))
            .order_by(JobRow.priority.desc(), JobRow.run_id)
        )
        with Session(self._engine) as session:
            return [JobRecord.from_rows(*row) for row in session.execute(query)]

    def placed(self) -> list[JobRecord]:
        """Jobs a worker holds now (starting, running or stopping), oldest first."""
        query = self._select().where(JobRow.worker_pid.is_not(None)).order_by(JobRow.run_id)
        with Session(self._engine) as session:
            return [JobRecord.from_rows(*row) for row in session.execute(query)]

    # --- submission --------------------------------------------------------------------

    def submit(
        self,
        spec: dict[str, Any],
        *,
        name: str,
        dataset: str,
        submitted_by: str = "",
        summary: dict[str, Any] | None = None,
    ) -> JobRecord:
        """Store a queued run and its job in one transaction (``spec["job"]`` says how).

        Args:
            spec: the validated run spec as JSON, with its ``job`` section.
            name: the run's name.
            dataset: the dataset the run trains on.
            submitted_by: who submitted it (a token's name, or ``local``).
            summary: the run's summary to start with (a search's trial says so there).

        Returns:
            The new job.
        """
        job = spec.get("job") or {}
        now = utcnow()
        run = RunRow(
            name=name,
            status=str(RunStatus.QUEUED),
            status_reason="submitted",
            spec=spec,
            dataset=dataset,
            created_at=now,
            started_at=None,
            finished_at=None,
            heartbeat_at=None,
            host="",
            pid=None,
            summary=dict(summary or {}),
        )
        with Session(self._engine) as session, session.begin():
            session.add(run)
            session.flush()
            refuse_reused_folder(self._engine, self._artifacts, run.id)
            row = JobRow(
                run_id=run.id,
                priority=int(job.get("priority", 0)),
                resources=dict(job.get("resources") or {"gpus": 0, "cpus": 1}),
                max_restarts=int(job.get("max_restarts", 0)),
                restarts=0,
                attempt=0,
                stop_timeout=float(job.get("stop_timeout", 30.0)),
                submitted_by=submitted_by,
                submitted_at=now,
                wait_reason="",
                worker_pid=None,
                worker_host="",
                devices=[],
                placed_at=None,
                heartbeat_at=None,
                stop_request=None,
                stop_reason="",
                stop_requested_at=None,
                stop_signalled_at=None,
                progress={},
                attempts=[],
            )
            session.add(row)
            session.flush()
            return JobRecord.from_rows(row, run)

    # --- scheduling --------------------------------------------------------------------

    def set_wait_reasons(self, reasons: dict[int, str]) -> None:
        """Record why each queued job waits (only the ones whose reason changed)."""
        if not reasons:
            return
        with Session(self._engine) as session, session.begin():
            for row in session.scalars(select(JobRow).where(JobRow.run_id.in_(list(reasons)))):
                if row.wait_reason != reasons[row.run_id]:
                    row.wait_reason = reasons[row.run_id]

    def reserve(self, job_id: int, host: str, *, hold_seconds: float = RESERVATION_SECONDS) -> bool:
        """Reserve a queued job for ``host``'s scheduler before it starts a worker for it.

        Schedulers on several machines read one queue; the check and the change are one
        statement, so exactly one of them reserves the job. A reservation that was not
        followed by :meth:`place` (its scheduler died in between) lapses after
        ``hold_seconds``.

        Returns:
            Whether ``host`` holds the reservation now (False: another machine has the job,
            or it is no longer queued).
        """
        now = utcnow()
        queued = (
            select(RunRow.id)
            .where(RunRow.id == job_id, RunRow.status == str(RunStatus.QUEUED))
            .exists()
        )
        lapsed = now - timedelta(seconds=hold_seconds)
        with self._engine.begin() as connection:
            result = connection.execute(
                update(JobRow)
                .where(
                    JobRow.run_id == job_id,
                    JobRow.worker_pid.is_(None),
                    or_(
                        JobRow.placed_at.is_(None),
                        JobRow.placed_at < lapsed,
                        JobRow.worker_host == host,
                    ),
                    queued,
                )
                .values(worker_host=host, placed_at=now)
            )
        return bool(result.rowcount)

    def place(
        self,
        job_id: int,
        *,
        pid: int,
        host: str,
        devices: list[int],
        starting: StatusChange | None = None,
    ) -> JobRecord:
        """Record that a worker (``pid`` on ``host``) was started for the job's next attempt.

        Args:
            job_id: the job.
            pid: the worker's process.
            host: the machine it runs on.
            devices: the GPUs it was given.
            starting: the run's new reason (``starting attempt N``), applied only if the run
                is still as it expects (a warm worker may have claimed it already).

        Raises:
            NotFound: no such job.
            Conflict: another machine's scheduler reserved or placed the job (see
                :meth:`reserve`); the worker just started must be stopped.
        """
        now = utcnow()
        with write_session(self._engine) as session:
            run, row = _locked(session, job_id)
            if row is None or run is None:
                raise NotFound(
                    f"job {job_id} does not exist", code="job_not_found", params={"id": job_id}
                )
            if row.worker_host not in ("", host) or (
                row.worker_pid is not None and row.worker_pid != pid
            ):
                raise Conflict(
                    f"job {job_id} was placed on {row.worker_host or 'another worker'} meanwhile"
                )
            row.attempt += 1
            row.worker_pid = pid
            row.worker_host = host
            row.devices = list(devices)
            row.placed_at = now
            row.stop_signalled_at = None
            row.wait_reason = ""
            row.attempts = [
                *(row.attempts or []),
                {
                    "attempt": row.attempt,
                    "pid": pid,
                    "host": host,
                    "devices": list(devices),
                    "started_at": now.isoformat(),
                },
            ]
            if starting is not None and starting.applies_to(run.status):
                run.status, run.status_reason = str(starting.status), starting.reason
            session.flush()
            return JobRecord.from_rows(row, run)

    def claim(
        self, job_id: int, change: StatusChange, owner: Lease | None = None
    ) -> RunRecord | None:
        """Make ``owner`` (default: this process) the job's worker and apply ``change`` (to
        ``running``), if the run is still in a status the change expects (``queued``).

        The check and the change are one statement, so two workers never both claim a job.

        Returns:
            The running run, or ``None`` when the job was not as expected (someone else has
            it, or it was cancelled meanwhile).
        """
        owner = owner or Lease.of_this_process()
        now = owner.heartbeat_at or utcnow()
        expected = [str(status) for status in change.expected]
        with Session(self._engine) as session, session.begin():
            claimed = session.execute(
                update(RunRow)
                .where(RunRow.id == job_id, RunRow.status.in_(expected))
                .values(
                    status=str(change.status),
                    status_reason=change.reason,
                    started_at=now,
                    finished_at=None,
                    heartbeat_at=now,
                    host=owner.host,
                    pid=owner.pid,
                )
            )
            if not claimed.rowcount:
                return None
            row = session.get(JobRow, job_id)
            if row is not None:
                row.worker_pid, row.worker_host, row.heartbeat_at = owner.pid, owner.host, now
            run = session.get(RunRow, job_id)
            assert run is not None
            session.flush()
            return RunRecord.from_row(run)

    def heartbeat(self, job_id: int, pid: int, host: str | None = None) -> bool:
        """The worker ``pid`` (on ``host``, when given) is alive; returns False when it no
        longer holds the job."""
        now = utcnow()
        run_holder = [RunRow.id == job_id, RunRow.pid == pid]
        job_holder = [JobRow.run_id == job_id, JobRow.worker_pid == pid]
        if host is not None:  # pids repeat across machines
            run_holder.append(RunRow.host == host)
            job_holder.append(JobRow.worker_host == host)
        with self._engine.begin() as connection:
            # The run's row first, then the job's: the order every writer locks them in.
            connection.execute(update(RunRow).where(*run_holder).values(heartbeat_at=now))
            result = connection.execute(update(JobRow).where(*job_holder).values(heartbeat_at=now))
        return bool(result.rowcount)

    def set_progress(self, job_id: int, progress: dict[str, Any]) -> None:
        """Replace the job's progress (step, epoch, rate, ETA)."""
        with self._engine.begin() as connection:
            connection.execute(
                update(JobRow).where(JobRow.run_id == job_id).values(progress=progress)
            )

    # --- stopping ----------------------------------------------------------------------

    def request_stop(
        self,
        job_id: int,
        kind: StopRequest,
        reason: str,
        *,
        unplaced: StatusChange | None = None,
    ) -> JobRecord:
        """Ask the job to stop, or, when no worker holds it yet, apply ``unplaced`` at once.

        Args:
            job_id: the job.
            kind: ``cancel`` (the run ends cancelled) or ``preempt`` (back to the queue).
            reason: who asked and why, for the run's status reason.
            unplaced: the change that ends a job no worker holds yet (a cancelled queued
                job ends at once); ``None`` leaves such a job as it is.

        Raises:
            NotFound: no such job.
            Conflict: the job already ended.
        """
        now = utcnow()
        with write_session(self._engine) as session:
            run, row = _locked(session, job_id)
            if row is None or run is None:
                raise NotFound(
                    f"job {job_id} does not exist (see 'athanor jobs list')",
                    code="job_not_found",
                    params={"id": job_id},
                )
            status = RunStatus(run.status)
            if status.final:
                raise Conflict(
                    f"job {job_id} already {status}: {run.status_reason}",
                    code="job_finished",
                    params={"id": job_id, "status": str(status)},
                )
            if row.worker_pid is None and status == RunStatus.QUEUED:
                if unplaced is not None and unplaced.applies_to(status):
                    run.status, run.status_reason = str(unplaced.status), unplaced.reason
                    run.finished_at = now if unplaced.status.final else None
                    row.wait_reason = ""
            elif row.stop_request != StopRequest.CANCEL:  # a cancel is never downgraded
                row.stop_request = str(kind)
                row.stop_reason = reason
                row.stop_requested_at = now
            session.flush()
            return JobRecord.from_rows(row, run)

    def mark_signalled(self, job_id: int) -> None:
        """The worker was sent SIGTERM now (the hard-kill timeout runs from here)."""
        with self._engine.begin() as connection:
            connection.execute(
                update(JobRow).where(JobRow.run_id == job_id).values(stop_signalled_at=utcnow())
            )

    def resume(self, job_id: int, change: StatusChange) -> JobRecord:
        """Queue a cancelled or failed job again (``change``, to ``queued``); its next
        attempt continues the run from its newest checkpoint.

        Raises:
            NotFound: no such job.
            Conflict: the run is not in a status ``change`` expects, or a worker still
                holds the job.
        """
        with write_session(self._engine) as session:
            run, row = _locked(session, job_id)
            if row is None or run is None:
                raise NotFound(
                    f"job {job_id} does not exist (see 'athanor jobs list')",
                    code="job_not_found",
                    params={"id": job_id},
                )
            if not change.applies_to(run.status):
                raise Conflict(
                    f"job {job_id} is {run.status}: {run.status_reason}",
                    code="job_finished",
                    params={"id": job_id, "status": str(run.status)},
                )
            if row.worker_pid is not None:
                raise Conflict(
                    f"job {job_id}'s worker (pid {row.worker_pid}) has not exited yet; "
                    "try again in a moment"
                )
            run.status = str(change.status)
            run.status_reason = change.reason
            run.finished_at = None
            row.wait_reason = ""
            row.stop_request = None
            row.stop_reason = ""
            session.flush()
            return JobRecord.from_rows(row, run)

    # --- the end of an attempt ---------------------------------------------------------

    def end_attempt(
        self,
        job_id: int,
        *,
        pid: int,
        change: StatusChange | None,
        stop_request: StopRequest | None = None,
        restart: bool = False,
        exit_code: int | None = None,
    ) -> JobRecord | None:
        """Release the job from its worker ``pid``, which has ended, applying ``change``.

        Everything is compared first: ``pid`` must still hold the job, and with a change,
        the run must be in a status it expects and the stop request must still be
        ``stop_request`` (as the caller saw it when it chose the change). So when the
        scheduler and another process both notice the same death, it is handled once, and
        a worker that records its outcome at the last moment is not overruled.

        Args:
            job_id: the job.
            pid: the worker that ended.
            change: the run's new status and reason; ``None`` when the worker recorded the
                outcome itself (the job is only released).
            stop_request: the stop request the change was chosen for.
            restart: count the change as one of the job's restarts.
            exit_code: the worker's exit status, when known.

        Returns:
            The job afterwards, or ``None`` when nothing changed (``pid`` no longer held
            it, or the job was not as expected: read it again and decide again).
        """
        now = utcnow()
        with write_session(self._engine) as session:
            run, row = _locked(session, job_id)
            if row is None or run is None or row.worker_pid != pid:
                return None
            if change is not None:
                asked = StopRequest(row.stop_request) if row.stop_request else None
                if not change.applies_to(run.status) or asked != stop_request:
                    return None
                run.status, run.status_reason = str(change.status), change.reason
                run.finished_at = now if change.status.final else None
                if restart:
                    row.restarts += 1
            attempts = list(row.attempts or [])
            if attempts:
                attempts[-1] = {
                    **attempts[-1],
                    "ended_at": now.isoformat(),
                    "exit_code": exit_code,
                    "outcome": run.status,
                    "reason": run.status_reason,
                }
            row.attempts = attempts
            row.worker_pid = None
            row.devices = []
            row.placed_at = None
            row.heartbeat_at = None
            row.stop_request = None
            row.stop_reason = ""
            row.stop_requested_at = None
            row.stop_signalled_at = None
            session.flush()
            return JobRecord.from_rows(row, run)


def _locked(session: Session, job_id: int) -> tuple[RunRow | None, JobRow | None]:
    """The job's run and job rows, locked until the transaction ends (``FOR UPDATE``; in a
    :func:`write_session`, which holds SQLite's write lock instead).

    What a method reads it then compares and changes, so two writers of one job must not
    both read before either writes. The run's row is locked first, as
    :meth:`JobRepository.claim` and :meth:`JobRepository.heartbeat` lock it, so that no two
    writers wait on each other (a deadlock on PostgreSQL).
    """
    run = session.get(RunRow, job_id, with_for_update=True)
    row = session.get(JobRow, job_id, with_for_update=True)
    return run, row
