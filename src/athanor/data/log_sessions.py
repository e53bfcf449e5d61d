"""Log sessions: the sequences of template keys a log anomaly detector learns from.

Lines of raw logs are grouped into sessions by an identifier in their content (an HDFS
block id ``blk_-?\\d+``, a request id: a line naming several ids joins each of their
sessions) or by fixed time windows of their header's timestamp (``window:SECONDS``).
Pre-parsed key files (as DeepLog publishes HDFS) hold one session per line: its keys as
whole numbers separated by white space. A session is normal (label 0) or anomalous (1).

A version stores sessions as flat arrays (``keys.npy``, ``offsets.npy``, ``labels.npy``;
never pickle) and their ids as JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from athanor.data.log_lines import LogLine
from athanor.data.user_patterns import compile_user_pattern
from athanor.errors import DataError

HDFS_SESSION = r"blk_-?\d+"
"""The session id of HDFS logs: the block a line is about."""
LABELS = ("normal", "anomalous")
_EPOCH = datetime(1970, 1, 1)
ANOMALOUS_NAME = re.compile(r"abnormal|anomal", re.IGNORECASE)
"""Key files whose name matches hold anomalous sessions (DeepLog's ``hdfs_test_abnormal``)."""


@dataclass
class LogSessions:
    """Sessions of template keys, with their ids, labels and (raw logs) line numbers."""

    keys: list[np.ndarray]
    ids: list[str]
    labels: np.ndarray
    lines: list[list[int]] = field(default_factory=list)
    """Raw logs: the line number of each key of each session (empty for key files)."""

    def __len__(self) -> int:
        return len(self.keys)

    def save(self, folder: Path) -> None:
        """Write the sessions' arrays and ids into ``folder``."""
        lengths = np.array([len(k) for k in self.keys], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        flat = np.concatenate(self.keys) if self.keys else np.zeros(0, np.int64)
        np.save(folder / "keys.npy", flat.astype(np.int64), allow_pickle=False)
        np.save(folder / "offsets.npy", offsets, allow_pickle=False)
        np.save(folder / "labels.npy", self.labels.astype(np.int64), allow_pickle=False)
        (folder / "session_ids.json").write_text(json.dumps(self.ids))

    @classmethod
    def load(cls, folder: Path) -> LogSessions:
        flat = np.load(folder / "keys.npy", allow_pickle=False)
        offsets = np.load(folder / "offsets.npy", allow_pickle=False)
        labels = np.load(folder / "labels.npy", allow_pickle=False)
        ids = json.loads((folder / "session_ids.json").read_text())
        keys = [flat[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
        return cls(keys=keys, ids=ids, labels=labels)


@dataclass(frozen=True)
class SessionRule:
    """How lines become sessions: an id pattern, or time windows of ``window`` seconds."""

    pattern: Any = None
    """The id pattern, compiled with RE2 (:mod:`athanor.data.user_patterns`)."""
    window: float | None = None
    time_format: str | None = None

    @classmethod
    def parse(cls, session: str | None, time_format: str | None = None) -> SessionRule:
        """``window:SECONDS`` or a regex of the id (default :data:`HDFS_SESSION`).

        Raises:
            DataError: a window that is not a positive number, or a regex that does not
                compile.
        """
        session = session or HDFS_SESSION
        if session.startswith("window:"):
            try:
                seconds = float(session.removeprefix("window:"))
            except ValueError:
                seconds = 0.0
            if not seconds > 0:
                raise DataError(
                    f"session '{session}': a time window is 'window:SECONDS' with SECONDS > 0"
                )
            return cls(window=seconds, time_format=time_format)
        return cls(pattern=compile_user_pattern(session, f"session '{session}'"))

    def describe(self) -> str:
        if self.window is not None:
            return f"time windows of {self.window:g} s"
        assert self.pattern is not None
        return f"lines sharing an id matching {self.pattern.pattern}"

    def ids(self, line: LogLine, source: str) -> list[str]:
        """The sessions a line belongs to (none when it names no id).

        Raises:
            DataError: time windows over a line whose timestamp cannot be read.
        """
        if self.pattern is not None:
            found = self.pattern.findall(line.content)
            # A group in the pattern: findall gives the group; keep the whole match instead.
            if found and not isinstance(found[0], str):
                found = [m.group(0) for m in self.pattern.finditer(line.content)]
            return list(dict.fromkeys(found))
        moment = line_time(line, self.time_format, source)
        assert self.window is not None
        # Windows start at multiples of the window since the epoch (the zone as written).
        seconds = (moment.replace(tzinfo=None) - _EPOCH).total_seconds()
        start = _EPOCH + timedelta(seconds=(seconds // self.window) * self.window)
        return [start.isoformat(sep=" ")]


def line_time(line: LogLine, time_format: str | None, source: str) -> datetime:
    """A line's time, from its header's Date and Time fields
    (or Timestamp), read with ``time_format`` (strptime; default ISO 8601).

    Raises:
        DataError: no such field, or a value the format does not read.
    """
    parts = [line.fields[n] for n in ("Date", "Time") if n in line.fields]
    if not parts and "Timestamp" in line.fields:
        parts = [line.fields["Timestamp"]]
    if not parts:
        raise DataError(
            f"{source}:{line.number}: time-window sessions need a <Date>/<Time> or "
            "<Timestamp> field in the log format"
        )
    value = " ".join(parts)
    try:
        return (
            datetime.strptime(value, time_format) if time_format else datetime.fromisoformat(value)
        )
    except ValueError:
        raise DataError(
            f"{source}:{line.number}: time '{value}' does not fit the time format "
            f"'{time_format or 'ISO 8601'}'; set --time-format (e.g. '%y%m%d %H%M%S')"
        ) from None


def group_sessions(
    keyed: Iterable[tuple[LogLine, int]], rule: SessionRule, source: str
) -> tuple[LogSessions, int]:
    """Sessions (in order of their first line) of lines with their template keys.

    Returns:
        The sessions (labels 0: raw logs carry no labels) and the count of lines that
        named no session id.
    """
    sessions: dict[str, tuple[list[int], list[int]]] = {}
    without = 0
    for line, key in keyed:
        ids = rule.ids(line, source)
        if not ids:
            without += 1
        for session in ids:
            keys, numbers = sessions.setdefault(session, ([], []))
            keys.append(key)
            numbers.append(line.number)
    return (
        LogSessions(
            keys=[np.array(k, dtype=np.int64) for k, _ in sessions.values()],
            ids=list(sessions),
            labels=np.zeros(len(sessions), dtype=np.int64),
            lines=[n for _, n in sessions.values()],
        ),
        without,
    )


def read_key_file(path: Path, label: int, *, id_prefix: str = "") -> LogSessions:
    """Sessions of a pre-parsed key file: one per non-empty line, keys >= 1.

    Raises:
        DataError: a token that is not a whole number >= 1, naming the file and line.
    """
    keys: list[np.ndarray] = []
    ids: list[str] = []
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("ascii")
            except UnicodeDecodeError:
                raise DataError(
                    f"{path}:{number}: not a line of log keys (whole numbers separated by spaces)"
                ) from None
            tokens = text.split()
            if not tokens:
                continue
            values = []
            for token in tokens:
                if not token.isdigit() or int(token) < 1:
                    raise DataError(
                        f"{path}:{number}: '{token}' is not a log key; a key file holds one "
                        "session per line, keys as whole numbers >= 1 separated by spaces"
                    )
                values.append(int(token))
            keys.append(np.array(values, dtype=np.int64))
            ids.append(f"{id_prefix}{path.name}:{number}")
    return LogSessions(keys=keys, ids=ids, labels=np.full(len(keys), label, dtype=np.int64))


def read_key_files(files: list[Path]) -> LogSessions:
    """Sessions of several key files; a file whose name says ``abnormal`` or ``anomal``
    holds anomalous sessions, the others normal ones.

    Raises:
        DataError: a bad line (see :func:`read_key_file`), or no session at all.
    """
    parts = [read_key_file(f, int(bool(ANOMALOUS_NAME.search(f.name)))) for f in files]
    sessions = LogSessions(
        keys=[k for p in parts for k in p.keys],
        ids=[i for p in parts for i in p.ids],
        labels=np.concatenate([p.labels for p in parts]) if parts else np.zeros(0, np.int64),
    )
    if not len(sessions):
        raise DataError(f"{', '.join(map(str, files)) or 'no files'}: no sessions of log keys")
    return sessions
