"""Raw log lines split into header fields and content by a header format.

A format names fields in angle brackets between literal text, as loghub writes them:
``<Date> <Time> <Pid> <Level> <Component>: <Content>``. It must name ``<Content>``, the
free text templates are mined from. Without a format a whole line is its content.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from athanor.data.user_patterns import compile_user_pattern
from athanor.errors import DataError

HDFS_FORMAT = "<Date> <Time> <Pid> <Level> <Component>: <Content>"
"""The header of HDFS logs (loghub's HDFS_v1)."""
MAX_LINE_BYTES = 64 * 1024
"""Longer lines are refused (or skipped with ``skip_bad``): no log line is that long."""


@dataclass(frozen=True)
class LogLine:
    """One line: where it is, its header fields and its content."""

    number: int
    fields: dict[str, str]
    content: str
    text: str


def format_regex(log_format: str) -> Any:
    """The regex of a header format (fields become named groups, spaces any white space).

    Raises:
        DataError: the format names no ``<Content>`` field, or a field twice.
    """
    parts = re.split(r"(<[^<>]+>)", log_format)
    pattern, names = "", []
    for part in parts:
        if part.startswith("<") and part.endswith(">"):
            name = part[1:-1].strip()
            if not name.isidentifier() or name in names:
                raise DataError(
                    f"log format '{log_format}': field '<{name}>' must be a unique name "
                    "of letters, digits and '_'"
                )
            names.append(name)
            pattern += f"(?P<{name}>.*?)"
        else:
            pattern += re.sub(r"\\ +|\s+", r"\\s+", re.escape(part))
    if "Content" not in names:
        raise DataError(
            f"log format '{log_format}' has no <Content> field; write the header's fields in "
            "angle brackets and end with the message, e.g. '<Date> <Time> <Level>: <Content>'"
        )
    return compile_user_pattern(f"^{pattern}$", f"log format '{log_format}'")


def read_log_lines(
    path: Path,
    log_format: str | None = None,
    *,
    encoding: str = "utf-8",
    skip_bad: bool = False,
    skipped: list[dict[str, str]] | None = None,
) -> Iterator[LogLine]:
    """The non-empty lines of a log file, split by ``log_format`` (None: whole lines).

    Args:
        path: the log file.
        log_format: a header format (see the module docstring), or None.
        encoding: the file's text encoding (default utf-8).
        skip_bad: leave out lines that do not fit the format (listed in ``skipped``)
            instead of failing.
        skipped: collects ``{"item": "file:line", "reason": ...}`` of lines left out.

    Raises:
        DataError: a line that does not fit the format or cannot be decoded, naming the
            file and line.
    """
    regex = format_regex(log_format) if log_format else None
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            problem = None
            try:
                text = raw.decode(encoding).rstrip("\r\n")
            except UnicodeDecodeError as exc:
                text, problem = "", f"not {encoding} text ({exc.reason} at byte {exc.start})"
            if problem is None and len(raw) > MAX_LINE_BYTES:
                problem = f"longer than {MAX_LINE_BYTES:,} bytes"
            if problem is None and not text.strip():
                continue
            match = None
            if problem is None and regex is not None:
                match = regex.match(text.strip())
                if match is None:
                    problem = f"does not fit the log format '{log_format}'"
            if problem is not None:
                if not skip_bad:
                    raise DataError(
                        f"{path}:{number}: {problem}; fix the line or the format, or use "
                        "--skip-bad to leave such lines out",
                        code="row_unreadable",
                        params={"file": str(path), "line": number, "reason": problem},
                        field="path",
                    )
                if skipped is not None:
                    skipped.append({"item": f"{path.name}:{number}", "reason": problem})
                continue
            if match is None:
                yield LogLine(number, {}, text.strip(), text)
            else:
                fields = match.groupdict()
                yield LogLine(number, fields, fields.pop("Content"), text)
