"""The audit trail: who wrote what, when, to which object.

The platform records every write a caller makes through the API (see
:mod:`athanor.server.permissions`); user and token changes are recorded in the same
transaction as the change itself, whichever front end makes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from athanor.store.lease import aware, utcnow
from athanor.store.tables import AuditRow

MAX_LIMIT = 1000
DETAIL_CHARS = 500


@dataclass(frozen=True)
class AuditEntry:
    """One recorded write."""

    id: int
    at: datetime
    user: str
    action: str
    object_kind: str
    object_id: str
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "user": self.user,
            "action": self.action,
            "object_kind": self.object_kind,
            "object_id": self.object_id,
            "detail": self.detail,
        }

    @classmethod
    def from_row(cls, row: AuditRow) -> AuditEntry:
        return cls(
            id=row.id,
            at=aware(row.at),  # type: ignore[arg-type]
            user=row.user_name,
            action=row.action,
            object_kind=row.object_kind,
            object_id=row.object_id,
            detail=row.detail,
        )


def add_audit_entry(
    session: Session, user: str, action: str, object_kind: str, object_id: str, detail: str = ""
) -> None:
    """Add an entry to ``session`` (it commits with the change it records)."""
    session.add(
        AuditRow(
            at=utcnow(),
            user_name=user[:100],
            action=action[:40],
            object_kind=object_kind[:40],
            object_id=str(object_id)[:250],
            detail=detail[:DETAIL_CHARS],
        )
    )


class AuditRepository:
    """Record and list audit entries."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(
        self, user: str, action: str, object_kind: str, object_id: str, detail: str = ""
    ) -> None:
        """Record one write by ``user`` (its own transaction)."""
        with Session(self._engine) as session, session.begin():
            add_audit_entry(session, user, action, object_kind, object_id, detail)

    def list(
        self,
        user: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """The newest entries first, at most ``limit`` (capped at 1000), optionally only
        ``user``'s and only those at or after ``since``."""
        query = select(AuditRow).order_by(AuditRow.id.desc()).limit(max(1, min(limit, MAX_LIMIT)))
        if user is not None:
            query = query.where(AuditRow.user_name == user)
        if since is not None:
            query = query.where(AuditRow.at >= since)
        with Session(self._engine) as session:
            return [AuditEntry.from_row(row) for row in session.scalars(query)]
