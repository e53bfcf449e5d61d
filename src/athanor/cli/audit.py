"""``athanor audit``: who changed what, and when (newest first)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from athanor.cli.output import console, print_json, table
from athanor.errors import UserError

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """A moment from ``2026-12-01``, ``2026-12-01T08:00`` (UTC unless it names a zone) or an
    age such as ``30m``, ``2h``, ``7d``.

    Raises:
        UserError: neither form.
    """
    text = text.strip()
    relative = _RELATIVE.match(text.lower())
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: amount})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(
            f"--since {text!r}: use a date or time (2026-12-01, 2026-12-01T08:00) or an age "
            "(30m, 2h, 7d, 2w)"
        ) from None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def audit(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's entries.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="From a date/time or an age (2h, 7d).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most N.")] = 50,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the audit trail: who changed what, and when (newest first)."""
    from athanor.store import open_store

    moment = parse_since(since) if since else None
    entries = open_store().audit.list(user=user, since=moment, limit=limit)
    if json_output:
        print_json([entry.to_json() for entry in entries])
        return
    if not entries:
        console.print("no audit entries match")
        return
    console.print(
        table(
            None,
            ["when (UTC)", "user", "action", "object", "detail"],
            [
                (
                    e.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                    e.user,
                    e.action,
                    f"{e.object_kind} {e.object_id}".strip(),
                    e.detail,
                )
                for e in entries
            ],
        )
    )
