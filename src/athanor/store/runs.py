"""Runs and their metrics in the metadata database."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.orm import Session

from athanor.errors import NotFound
from athanor.store.artifacts import ArtifactStore
from athanor.store.database import refuse_reused_folder, write_session
from athanor.store.lease import Lease, utcnow
from athanor.store.lease import aware as _aware
from athanor.store.status import RunStatus, StatusChange
from athanor.store.tables import MetricRow, RunRow

ACTIVE = frozenset({RunStatus.QUEUED, RunStatus.RUNNING})
"""The statuses a run can still leave on its own."""


@dataclass(frozen=True)
class RunRecord:
    """A run as stored: spec, lifecycle and summary (final metrics, sizes, timings)."""

    id: int
    name: str
    status: RunStatus
    status_reason: str
    spec: dict[str, Any]
    dataset: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    host: str
    pid: int | None
    summary: dict[str, Any]
    archived_at: datetime | None = None

    @property
    def archived(self) -> bool:
        """Whether the run is in the archive (hidden from lists until restored)."""
        return self.archived_at is not None

    @property
    def lease(self) -> Lease:
        """The process that trains (or trained) the run."""
        return Lease(self.pid, self.host, self.heartbeat_at)

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to finish (to now while running)."""
        if self.started_at is None:
            return None
        end = self.finished_at or utcnow()
        return (end - self.started_at).total_seconds()

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = value.isoformat()
        data["status"] = str(self.status)
        data["duration_s"] = self.duration_s
        return data

    @classmethod
    def from_row(cls, row: RunRow) -> RunRecord:
        return cls(
            id=row.id,
            name=row.name,
            status=RunStatus(row.status),
            status_reason=row.status_reason,
            spec=row.spec,
            dataset=row.dataset,
            created_at=_aware(row.created_at),  # type: ignore[arg-type]
            started_at=_aware(row.started_at),
            finished_at=_aware(row.finished_at),
            heartbeat_at=_aware(row.heartbeat_at),
            host=row.host,
            pid=row.pid,
            summary=row.summary or {},
            archived_at=_aware(row.archived_at),
        )


@dataclass(frozen=True)
class MetricPoint:
    """One logged value."""

    name: str
    step: int
    epoch: int
    value: float
    recorded_at: float


class RunRepository:
    """Create, update, query runs and append their metrics."""

    def __init__(self, engine: Engine, artifacts: ArtifactStore | None = None) -> None:
        self._engine = engine
        self._artifacts = artifacts
        """Where run folders live: a new run never gets an id whose folder exists."""

    def create(
        self,
        spec: dict[str, Any],
        *,
        name: str,
        dataset: str = "",
        status: RunStatus = RunStatus.RUNNING,
    ) -> RunRecord:
        """Store a new run; a running one records this process as its owner.

        Raises:
            StoreMismatch: the new id's artifact folder already exists (the database is
                behind its artifacts); nothing is stored.
        """
        now = utcnow()
        running = status == RunStatus.RUNNING
        owner = Lease.of_this_process(now) if running else Lease(None, "")
        row = RunRow(
            name=name,
            status=str(status),
            status_reason="",
            spec=spec,
            dataset=dataset,
            created_at=now,
            started_at=now if running else None,
            finished_at=None,
            heartbeat_at=owner.heartbeat_at,
            host=owner.host,
            pid=owner.pid,
            summary={},
        )
        with Session(self._engine) as session, session.begin():
            session.add(row)
            session.flush()
            refuse_reused_folder(self._engine, self._artifacts, row.id)
            return RunRecord.from_row(row)

    def get(self, run_id: int) -> RunRecord:
        """The run with this id.

        Raises:
            NotFound: no such run.
        """
        with Session(self._engine) as session:
            row = session.get(RunRow, run_id)
            if row is None:
                raise NotFound(f"run {run_id} does not exist (see 'athanor runs list')")
            return RunRecord.from_row(row)

    def list(
        self,
        *,
        limit: int = 50,
        offset: int = 0,
        status: RunStatus | str | None = None,
        name: str | None = None,
        search: str | None = None,
        dataset: str | None = None,
        archived: bool | None = None,
    ) -> list[RunRecord]:
        """Runs, newest first.

        Args:
            limit: the most runs to return.
            offset: how many of the newest to skip.
            status: only runs in this status.
            name: only runs so named.
            search: only runs whose name contains this text (case-insensitive).
            dataset: only runs on this dataset.
            archived: only archived runs (True), only the others (False), or both (None).
        """
        query = select(RunRow).order_by(RunRow.id.desc()).limit(limit).offset(offset)
        query = _filtered(query, status, name, search, dataset, archived)
        with Session(self._engine) as session:
            return [RunRecord.from_row(row) for row in session.scalars(query)]

    def count(
        self,
        *,
        status: RunStatus | str | None = None,
        name: str | None = None,
        search: str | None = None,
        dataset: str | None = None,
        archived: bool | None = None,
    ) -> int:
        """How many runs :meth:`list` finds with the same filters, without a limit."""
        query = _filtered(select(func.count(RunRow.id)), status, name, search, dataset, archived)
        with Session(self._engine) as session:
            return int(session.scalar(query) or 0)

    def update(self, run_id: int, **fields: Any) -> None:
        """Set columns of a run (``summary`` is merged into the stored summary)."""
        with write_session(self._engine) as session:
            # Locked, so that a concurrent merge into the summary is not lost.
            row = session.get(RunRow, run_id, with_for_update=True)
            if row is None:
                raise NotFound(f"run {run_id} does not exist")
            for key, value in fields.items():
                if key == "summary":
                    value = {**(row.summary or {}), **value}
                setattr(row, key, str(value) if isinstance(value, RunStatus) else value)

    def heartbeat(self, run_id: int) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                update(RunRow).where(RunRow.id == run_id).values(heartbeat_at=utcnow())
            )

    def transition(
        self,
        run_id: int,
        change: StatusChange,
        *,
        summary: dict[str, Any] | None = None,
        owner: Lease | None = None,
    ) -> RunRecord | None:
        """Apply ``change`` if the run is still in one of its expected statuses.

        The check and the change are one statement, so of two processes that change the
        same run at the same moment, only the first one does.

        Args:
            run_id: the run.
            change: the new status and reason, and the statuses it may leave.
            summary: merged into the run's summary along with the change.
            owner: the process that trains the run from now on (a claim); its pid, host and
                heartbeat are recorded.

        Returns:
            The run afterwards, or ``None`` when it was not in an expected status.

        Raises:
            NotFound: no such run.
        """
        now = utcnow()
        values: dict[str, Any] = {
            "status": str(change.status),
            "status_reason": change.reason,
            "finished_at": now if change.status.final else None,
        }
        if owner is not None:
            values.update(pid=owner.pid, host=owner.host, heartbeat_at=owner.heartbeat_at or now)
        expected = [str(status) for status in change.expected]
        with write_session(self._engine) as session:
            if summary:
                # Locked until the update: a concurrent merge is not lost.
                row = session.get(RunRow, run_id, with_for_update=True)
                if row is None:
                    raise NotFound(f"run {run_id} does not exist")
                values["summary"] = {**(row.summary or {}), **summary}
            done = session.execute(
                update(RunRow)
                .where(RunRow.id == run_id, RunRow.status.in_(expected))
                .values(**values)
            )
            row = session.get(RunRow, run_id)
            if row is None:
                raise NotFound(f"run {run_id} does not exist")
            if not done.rowcount:
                return None
            session.refresh(row)
            return RunRecord.from_row(row)

    def finish(
        self,
        run_id: int,
        status: RunStatus,
        reason: str = "",
        summary: dict[str, Any] | None = None,
    ) -> RunRecord:
        """Mark a queued or running run final with the reason, merging ``summary`` into its
        summary; a run that is final already is returned as it is."""
        if not status.final:
            raise ValueError(f"{status} is not a final status")
        done = self.transition(run_id, StatusChange(status, reason, ACTIVE), summary=summary)
        return done if done is not None else self.get(run_id)

    def set_archived(self, run_id: int, archived: bool) -> RunRecord | None:
        """Move a final run into the archive, or back out of it (compare and set).

        Returns:
            The run afterwards, or ``None`` when it is not final (queued or running runs
            are never archived).

        Raises:
            NotFound: no such run.
        """
        final = [str(status) for status in RunStatus if status.final]
        with write_session(self._engine) as session:
            done = session.execute(
                update(RunRow)
                .where(RunRow.id == run_id, RunRow.status.in_(final))
                .values(archived_at=utcnow() if archived else None)
            )
            row = session.get(RunRow, run_id)
            if row is None:
                raise NotFound(f"run {run_id} does not exist (see 'athanor runs list')")
            if not done.rowcount:
                return None
            session.refresh(row)
            return RunRecord.from_row(row)

    def runs_on(self, dataset: str, *, active: bool = False) -> list[RunRecord]:
        """Runs on imported dataset ``dataset`` (any version: ``NAME`` or ``NAME@...``),
        newest first; only queued or running ones when ``active``."""
        escaped = dataset.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = (
            select(RunRow)
            .where((RunRow.dataset == dataset) | RunRow.dataset.like(f"{escaped}@%", escape="\\"))
            .order_by(RunRow.id.desc())
        )
        if active:
            query = query.where(RunRow.status.in_([str(status) for status in ACTIVE]))
        with Session(self._engine) as session:
            return [RunRecord.from_row(row) for row in session.scalars(query)]

    def delete(self, run_id: int) -> None:
        with Session(self._engine) as session, session.begin():
            session.execute(delete(MetricRow).where(MetricRow.run_id == run_id))
            session.execute(delete(RunRow).where(RunRow.id == run_id))

    def delete_metrics_after(self, run_id: int, step: int) -> int:
        """Remove a run's metric points logged after optimizer step ``step`` (a resume from a
        checkpoint at that step logs them again); returns how many were removed."""
        with self._engine.begin() as connection:
            result = connection.execute(
                delete(MetricRow).where(MetricRow.run_id == run_id, MetricRow.step > step)
            )
        return int(result.rowcount or 0)

    def log_metrics(self, run_id: int, points: Sequence[MetricPoint]) -> None:
        """Append metric values in one statement (callers batch them)."""
        if not points:
            return
        with self._engine.begin() as connection:
            connection.execute(
                insert(MetricRow),
                [
                    {
                        "run_id": run_id,
                        "name": p.name,
                        "step": p.step,
                        "epoch": p.epoch,
                        "value": p.value,
                        "recorded_at": p.recorded_at,
                    }
                    for p in points
                ],
            )

    def metrics(
        self, run_id: int, names: Iterable[str] | None = None
    ) -> dict[str, list[MetricPoint]]:
        """Every logged value of a run, by metric name, in step order."""
        query = (
            select(MetricRow)
            .where(MetricRow.run_id == run_id)
            .order_by(MetricRow.name, MetricRow.step, MetricRow.id)
        )
        if names is not None:
            query = query.where(MetricRow.name.in_(list(names)))
        series: dict[str, list[MetricPoint]] = {}
        with Session(self._engine) as session:
            for row in session.scalars(query):
                series.setdefault(row.name, []).append(
                    MetricPoint(row.name, row.step, row.epoch, row.value, row.recorded_at)
                )
        return series

    def metric_series(
        self, run_id: int, names: Iterable[str] | None = None, *, after_step: int = -1
    ) -> dict[str, tuple[list[int], list[int], list[float], list[float]]]:
        """A run's metrics as columns: ``{name: (steps, epochs, values, recorded_at)}``.

        The same points as :meth:`metrics`, read without building an object per point
        (charts read runs of 100,000 points).

        Args:
            run_id: the run.
            names: only these metrics (default all).
            after_step: only points after this step.
        """
        query = (
            select(
                MetricRow.name,
                MetricRow.step,
                MetricRow.epoch,
                MetricRow.value,
                MetricRow.recorded_at,
            )
            .where(MetricRow.run_id == run_id, MetricRow.step > after_step)
            .order_by(MetricRow.name, MetricRow.step, MetricRow.id)
        )
        if names is not None:
            query = query.where(MetricRow.name.in_(list(names)))
        series: dict[str, tuple[list[int], list[int], list[float], list[float]]] = {}
        with self._engine.connect() as connection:
            for name, step, epoch, value, recorded_at in connection.execute(query):
                columns = series.get(name)
                if columns is None:
                    columns = series[name] = ([], [], [], [])
                columns[0].append(step)
                columns[1].append(epoch)
                columns[2].append(value)
                columns[3].append(recorded_at)
        return series

    def held_on(self, host: str) -> list[RunRecord]:
        """Running runs whose process runs on ``host`` (to check whether it still lives)."""
        query = select(RunRow).where(RunRow.status == str(RunStatus.RUNNING), RunRow.host == host)
        with Session(self._engine) as session:
            return [RunRecord.from_row(row) for row in session.scalars(query)]

    def last_logged_steps(self, run_id: int) -> dict[str, int]:
        """The highest step logged so far for each metric of a run."""
        query = (
            select(MetricRow.name, func.max(MetricRow.step))
            .where(MetricRow.run_id == run_id)
            .group_by(MetricRow.name)
        )
        with Session(self._engine) as session:
            return {name: int(step) for name, step in session.execute(query)}


def _filtered(
    query: Any,
    status: RunStatus | str | None,
    name: str | None,
    search: str | None,
    dataset: str | None,
    archived: bool | None = None,
) -> Any:
    if status is not None:
        query = query.where(RunRow.status == str(status))
    if name is not None:
        query = query.where(RunRow.name == name)
    if search:
        # LIKE's wildcards in the text are matched literally.
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(RunRow.name.ilike(f"%{escaped}%", escape="\\"))
    if dataset is not None:
        query = query.where(RunRow.dataset == dataset)
    if archived is not None:
        column = RunRow.archived_at
        query = query.where(column.is_not(None) if archived else column.is_(None))
    return query
