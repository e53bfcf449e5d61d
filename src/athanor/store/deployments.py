"""Deployments in the metadata database: models the platform serves, and how."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from athanor.errors import Conflict, NotFound
from athanor.store.runs import _aware, utcnow
from athanor.store.tables import DeploymentMinuteRow, DeploymentRow

STATUSES = ("running", "stopped", "failed")


@dataclass(frozen=True)
class DeploymentRecord:
    """A deployment as stored: ``running`` means the platform serves it (again after a
    restart); ``failed`` says why it could not."""

    name: str
    model: str
    config: dict[str, Any]
    status: str
    status_reason: str
    created_by: str
    created_at: datetime
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        data["updated_at"] = self.updated_at.isoformat()
        return data

    @classmethod
    def from_row(cls, row: DeploymentRow) -> DeploymentRecord:
        return cls(
            name=row.name,
            model=row.model,
            config=dict(row.config or {}),
            status=row.status,
            status_reason=row.status_reason,
            created_by=row.created_by,
            created_at=_aware(row.created_at),  # type: ignore[arg-type]
            updated_at=_aware(row.updated_at),  # type: ignore[arg-type]
        )


class DeploymentRepository:
    """Create, list, update and delete deployments."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(
        self, name: str, model: str, config: dict[str, Any], *, created_by: str = ""
    ) -> DeploymentRecord:
        """Record a new deployment (``running``).

        Raises:
            Conflict: a deployment with this name exists.
        """
        now = utcnow()
        with Session(self._engine) as session, session.begin():
            if session.get(DeploymentRow, name) is not None:
                raise Conflict(
                    f"a deployment named {name!r} exists; delete it first or choose another name",
                    code="name_taken",
                    params={"name": name},
                    field="name",
                )
            row = DeploymentRow(
                name=name,
                model=model,
                config=config,
                status="running",
                status_reason="starting",
                created_by=created_by,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            return DeploymentRecord.from_row(row)

    def get(self, name: str) -> DeploymentRecord:
        """Raises NotFound for an unknown name."""
        with Session(self._engine) as session:
            row = session.get(DeploymentRow, name)
            if row is None:
                raise NotFound(
                    f"no deployment named {name!r} (see GET /v1/deployments)",
                    code="deployment_not_found",
                    params={"name": name},
                )
            return DeploymentRecord.from_row(row)

    def list(self, *, status: str | None = None) -> list[DeploymentRecord]:
        """Deployments by name."""
        query = select(DeploymentRow).order_by(DeploymentRow.name)
        if status is not None:
            query = query.where(DeploymentRow.status == status)
        with Session(self._engine) as session:
            return [DeploymentRecord.from_row(row) for row in session.scalars(query)]

    def set_status(self, name: str, status: str, reason: str) -> DeploymentRecord:
        """Record whether a deployment runs (``running``, ``stopped``, ``failed``) and why."""
        if status not in STATUSES:
            raise ValueError(f"{status} is not one of {STATUSES}")
        with Session(self._engine) as session, session.begin():
            row = session.get(DeploymentRow, name)
            if row is None:
                raise NotFound(
                    f"no deployment named {name!r}",
                    code="deployment_not_found",
                    params={"name": name},
                )
            row.status, row.status_reason, row.updated_at = status, reason, utcnow()
            session.flush()
            return DeploymentRecord.from_row(row)

    def delete(self, name: str) -> None:
        """Forget a deployment and its history. Raises NotFound for an unknown name."""
        with Session(self._engine) as session, session.begin():
            row = session.get(DeploymentRow, name)
            if row is None:
                raise NotFound(
                    f"no deployment named {name!r} (see GET /v1/deployments)",
                    code="deployment_not_found",
                    params={"name": name},
                )
            # Explicit as well as ON DELETE CASCADE: a SQLite connection opened without
            # PRAGMA foreign_keys would keep the minutes otherwise.
            session.execute(
                delete(DeploymentMinuteRow).where(DeploymentMinuteRow.deployment == name)
            )
            session.delete(row)
