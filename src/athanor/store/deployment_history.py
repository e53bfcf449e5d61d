"""Deployments' per-minute history: requests, errors, latency and a sketch of their inputs.

The platform writes closed minutes in batches (never one write per request); minutes written
twice for the same deployment (the platform restarted within a minute) are added together.
Rows older than the retention period are pruned; a deployment's rows go with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from athanor.store.tables import DeploymentMinuteRow, DeploymentRow


@dataclass
class DeploymentMinute:
    """What one deployment answered during one minute.

    ``latency_bins`` maps a latency bin (an integer, see the platform's traffic counter) to
    its count; ``inputs`` is the minute's input sketch (``None`` when nothing was observed).
    """

    deployment: str
    minute: int
    """Minutes since the Unix epoch (UTC)."""
    requests: int = 0
    client_errors: int = 0
    server_errors: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    latency_bins: dict[int, int] = field(default_factory=dict)
    inputs: dict[str, Any] | None = None

    @classmethod
    def from_row(cls, row: DeploymentMinuteRow) -> DeploymentMinute:
        return cls(
            deployment=row.deployment,
            minute=int(row.minute),
            requests=row.requests,
            client_errors=row.client_errors,
            server_errors=row.server_errors,
            p50_ms=row.p50_ms,
            p95_ms=row.p95_ms,
            p99_ms=row.p99_ms,
            latency_bins={int(k): int(v) for k, v in (row.latency_bins or {}).items()},
            inputs=row.inputs,
        )


class DeploymentHistoryRepository:
    """Write, read, prune and delete deployments' minutes.

    Args:
        engine: the metadata database.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def write(
        self,
        minutes: Iterable[DeploymentMinute],
        merge: Callable[[DeploymentMinute, DeploymentMinute], DeploymentMinute] | None = None,
    ) -> int:
        """Store ``minutes`` in one transaction; a minute already stored is replaced by
        ``merge(stored, new)`` (default: the new one). Minutes of deployments that no longer
        exist are dropped.

        Returns:
            How many minutes were written.
        """
        minutes = list(minutes)
        if not minutes:
            return 0
        written = 0
        with Session(self._engine) as session, session.begin():
            names = {m.deployment for m in minutes}
            existing = set(
                session.scalars(select(DeploymentRow.name).where(DeploymentRow.name.in_(names)))
            )
            for minute in minutes:
                if minute.deployment not in existing:
                    continue  # deleted while its last minutes were waiting to be written
                row = session.get(DeploymentMinuteRow, (minute.deployment, minute.minute))
                if row is not None and merge is not None:
                    minute = merge(DeploymentMinute.from_row(row), minute)
                if row is None:
                    row = DeploymentMinuteRow(deployment=minute.deployment, minute=minute.minute)
                    session.add(row)
                row.requests = minute.requests
                row.client_errors = minute.client_errors
                row.server_errors = minute.server_errors
                row.p50_ms, row.p95_ms, row.p99_ms = minute.p50_ms, minute.p95_ms, minute.p99_ms
                row.latency_bins = {str(k): v for k, v in minute.latency_bins.items()}
                row.inputs = minute.inputs
                written += 1
        return written

    def read(self, deployment: str, first: int, last: int) -> list[DeploymentMinute]:
        """The stored minutes of ``deployment`` from minute ``first`` to ``last`` (both
        included), oldest first; minutes without a row had no requests."""
        query = (
            select(DeploymentMinuteRow)
            .where(
                DeploymentMinuteRow.deployment == deployment,
                DeploymentMinuteRow.minute >= first,
                DeploymentMinuteRow.minute <= last,
            )
            .order_by(DeploymentMinuteRow.minute)
        )
        with Session(self._engine) as session:
            return [DeploymentMinute.from_row(row) for row in session.scalars(query)]

    def prune(self, before: int) -> int:
        """Delete every deployment's minutes before minute ``before``; how many were."""
        with Session(self._engine) as session, session.begin():
            result = session.execute(
                delete(DeploymentMinuteRow).where(DeploymentMinuteRow.minute < before)
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def delete(self, deployment: str) -> int:
        """Delete ``deployment``'s minutes; how many were."""
        with Session(self._engine) as session, session.begin():
            result = session.execute(
                delete(DeploymentMinuteRow).where(DeploymentMinuteRow.deployment == deployment)
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]
