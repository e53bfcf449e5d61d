"""A raw log file to sessions of template keys: split lines, mine or match templates, group.

At import the templates are mined (:meth:`TemplateMiner.add`); at prediction the model's
miner only matches (:meth:`TemplateMiner.match`), and a line no template fits gets key 0,
the key no normal session ever showed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from athanor.data.log_lines import LogLine, read_log_lines
from athanor.data.log_sessions import LogSessions, SessionRule, group_sessions
from athanor.data.log_templates import TemplateMiner

UNKNOWN_KEY = 0
"""The key of a line no template of the training logs fits."""


@dataclass
class ParsedLog:
    """A log file's sessions, its lines by number and what parsing noticed."""

    sessions: LogSessions
    lines: dict[int, LogLine]
    without_session: int
    skipped: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0


def parse_log_file(
    path: Path,
    miner: TemplateMiner,
    *,
    log_format: str | None,
    session: str | None,
    time_format: str | None = None,
    learn: bool,
    encoding: str = "utf-8",
    skip_bad: bool = False,
    keep_lines: bool = False,
) -> ParsedLog:
    """Sessions of template keys of one raw log file.

    Args:
        path: the log file.
        miner: the template miner; with ``learn`` it mines new templates from the lines,
            else it only matches them (unmatched lines get :data:`UNKNOWN_KEY`).
        log_format: the header format (see :mod:`athanor.data.log_lines`), or None.
        session: the session rule (an id regex or ``window:SECONDS``; default HDFS block ids).
        time_format: strptime format of the header's time (time windows).
        learn: mine (import) or only match (prediction).
        encoding: the file's encoding.
        skip_bad: leave out lines that do not fit the format, listed in ``skipped``.
        keep_lines: keep each line (prediction prints the unexpected ones).

    Raises:
        DataError: a bad line or session rule, naming the file and line.
    """
    import time

    rule = SessionRule.parse(session, time_format)
    skipped: list[dict[str, str]] = []
    kept: dict[int, LogLine] = {}
    started = time.perf_counter()

    def keyed() -> Any:
        for line in read_log_lines(
            path, log_format, encoding=encoding, skip_bad=skip_bad, skipped=skipped
        ):
            if keep_lines:
                kept[line.number] = line
            if learn:
                key = miner.add(line.content).key
            else:
                found = miner.match(line.content)
                key = UNKNOWN_KEY if found is None else found.key
            yield line, key

    sessions, without = group_sessions(keyed(), rule, str(path))
    return ParsedLog(
        sessions=sessions,
        lines=kept,
        without_session=without,
        skipped=skipped,
        seconds=time.perf_counter() - started,
    )


def parsing_record(
    miner: TemplateMiner, log_format: str | None, session: str | None, time_format: str | None
) -> dict[str, Any]:
    """What a model needs to parse new logs as its training logs were parsed (plain JSON)."""
    return {
        "miner": miner.state(),
        "log_format": log_format,
        "session": session,
        "time_format": time_format,
    }
