"""Console output shared by the commands: rich tables for people, JSON for scripts."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table

console = Console(highlight=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    """Write ``data`` as JSON to standard output (datetimes as ISO 8601)."""

    def default(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if hasattr(value, "to_json"):
            return value.to_json()
        return str(value)

    sys.stdout.write(json.dumps(data, indent=2, default=default) + "\n")


_NUMBER = re.compile(r"^[-+]?[\d,]*\.?\d+(e[-+]?\d+)?( ?%)?$|^(nan|inf|-inf|-)$", re.IGNORECASE)


# Dates and times (``2014-01-07``, ``2014-01-07T02:00:00``) are read as one word, like numbers.
_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2}|Z)?)?$")


def is_number_text(text: str) -> bool:
    """Whether ``text`` reads as a number (``1,234``, ``-0.5``, ``3e-4``, ``97.5 %``)."""
    return bool(_NUMBER.match(text.strip()))


def is_moment_text(text: str) -> bool:
    """Whether ``text`` reads as a date or a timestamp, which must not be cut either."""
    return bool(_MOMENT.match(text.strip()))


class NumberTable:
    """A table whose numbers (and dates) are never wrapped mid-digit.

    Columns of numbers keep their full width and are right-aligned; columns of dates keep
    their full width; text columns fold.
    When the numbers alone do not fit the terminal, the columns are shown as several
    tables one under another, each repeating the first column, instead of cutting a number.
    """

    def __init__(
        self,
        title: str | None,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        numeric: Iterable[str] = (),
    ) -> None:
        self.title = title
        self.columns = list(columns)
        self.rows = [["" if value is None else str(value) for value in row] for row in rows]
        forced = set(numeric)
        self.numeric = [
            name in forced
            or (
                any(row[i] for row in self.rows)
                and all(is_number_text(row[i]) for row in self.rows if row[i])
            )
            for i, name in enumerate(self.columns)
        ]
        self.whole = [
            numeric
            or (
                any(row[i] for row in self.rows)
                and all(is_moment_text(row[i]) for row in self.rows if row[i])
            )
            for i, numeric in enumerate(self.numeric)
        ]
        self.widths = [
            max([len(row[i]) for row in self.rows], default=0) for i in range(len(self.columns))
        ]

    def _build(self, indices: list[int], title: str | None) -> Table:
        result = Table(title=title, title_justify="left", header_style="bold")
        for i in indices:
            if self.numeric[i]:
                result.add_column(
                    self.columns[i],
                    justify="right",
                    no_wrap=True,
                    min_width=self.widths[i],
                    overflow="fold",
                )
            elif self.whole[i]:
                result.add_column(self.columns[i], no_wrap=True, min_width=self.widths[i])
            else:
                result.add_column(self.columns[i], overflow="fold")
        for row in self.rows:
            result.add_row(*(row[i] for i in indices))
        return result

    def column_groups(self, width: int) -> list[list[int]]:
        """Column indices of each table needed to show every number whole in ``width``."""

        def need(i: int) -> int:
            # a text column can fold down to a few characters; a number column cannot fold
            # (nor can its header, which rich renders with the column's no_wrap)
            if self.whole[i]:
                return max(self.widths[i], len(self.columns[i])) + 3
            return min(max(self.widths[i], len(self.columns[i])), 8) + 3

        count = len(self.columns)
        if count < 2 or 1 + sum(need(i) for i in range(count)) <= width:
            return [list(range(count))]
        groups: list[list[int]] = []
        current = [0]
        used = 1 + need(0)
        for i in range(1, count):
            if len(current) > 1 and used + need(i) > width:
                groups.append(current)
                current, used = [0], 1 + need(0)
            current.append(i)
            used += need(i)
        groups.append(current)
        return groups

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        groups = self.column_groups(options.max_width)
        for index, indices in enumerate(groups):
            title = self.title
            if len(groups) > 1 and index:
                title = f"{self.title} (continued)" if self.title else None
            yield self._build(indices, title)


def table(
    title: str | None,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    numeric: Iterable[str] = (),
) -> NumberTable:
    """A table with the given columns and rows (values shown with ``str``).

    Columns whose values all read as numbers (and those named in ``numeric``) are
    right-aligned and never wrapped mid-digit (see :class:`NumberTable`).
    """
    return NumberTable(title, columns, rows, numeric)


def ago(moment: datetime | None) -> str:
    """``3 min ago`` style age of a moment."""
    if moment is None:
        return ""
    seconds = (datetime.now(moment.tzinfo) - moment).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return f"{int(seconds)} s ago"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return (
        f"{hours}h{minutes:02d}m"
        if hours
        else (f"{minutes}m{secs:02d}s" if minutes else f"{secs}s")
    )


def human_bytes(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


STATUS_STYLE = {
    "succeeded": "green",
    "failed": "red",
    "cancelled": "yellow",
    "running": "cyan",
    "queued": "blue",
}


def styled_status(status: str) -> str:
    style = STATUS_STYLE.get(status, "")
    return f"[{style}]{status}[/{style}]" if style else status
