"""``/v1/audit``: who changed what, and when. Admins read every entry; other users read
their own."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BeforeValidator

from athanor.server.permissions import require_role
from athanor.server.routes import NAME, Context, errors, principal
from athanor.server.schemas import AuditEntryOut
from athanor.store.audit import MAX_LIMIT

router = APIRouter(tags=["audit"])


def _iso_time_only(value: object) -> object:
    # Pydantic would read '0.5' as seconds since 1970; a moment here is ISO 8601 text.
    if isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError("use an ISO 8601 time such as 2026-12-01T08:00:00Z")
    return value


@router.get(
    "/v1/audit",
    response_model=list[AuditEntryOut],
    responses=errors(403),
    summary="The audit trail, newest first",
)
def list_audit(
    request: Request,
    context: Context,
    user: Annotated[
        str | None,
        Query(pattern=f"^{NAME}$", description="Only this user's entries (admins: anyone's)."),
    ] = None,
    since: Annotated[
        datetime | None,
        BeforeValidator(_iso_time_only),
        Query(description="Only entries at or after this time (ISO 8601)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> list[dict]:
    """Admins read every user's entries; editors and viewers read their own (asking for
    another user's is a 403)."""
    me = principal(request)
    if getattr(request.state, "role", None) != "admin":
        if user is not None and user != me:
            require_role(request, "admin", "reading another user's audit entries")
        user = me
    if since is not None:
        since = since.astimezone(UTC) if since.tzinfo else since.replace(tzinfo=UTC)
    return [entry.to_json() for entry in context.store.audit.list(user, since, limit)]
