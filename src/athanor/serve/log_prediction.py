"""Log anomaly detection with a ``next_key`` model: a log in, its anomalous sessions out.

A model trained on mined templates reads raw log lines: it splits them with the training
logs' header format, matches each with the training templates (a line no template fits is
unexpected), groups them into sessions by the same rule, and flags a session when one of
its keys is outside the model's top g (see :mod:`athanor.training.log_anomaly`). A model
trained on pre-parsed keys reads key lines, one session per line. Each flagged session is
reported with its unexpected lines and their templates.
"""

from __future__ import annotations

import csv
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from athanor.data.log_parsing import UNKNOWN_KEY, parse_log_file
from athanor.data.log_sessions import read_key_file
from athanor.data.log_templates import TemplateMiner
from athanor.data.log_windows import LogKeys
from athanor.errors import PredictionInputError
from athanor.training.log_anomaly import key_ranks

if TYPE_CHECKING:
    from athanor.serve.predictor import Predictor

MAX_LOG_BYTES = 256 * 1024 * 1024
"""Largest log one prediction reads."""


def is_log_model(predictor: Predictor) -> bool:
    """Whether the model predicts next log keys (a DeepLog-style detector)."""
    return predictor.schema.task == "next_key"


@dataclass
class UnexpectedLine:
    """One unexpected key of a session: where, which line, its template and rank."""

    position: int
    key: int | None
    rank: int | None
    line: int | None = None
    text: str | None = None
    template: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "line": self.line,
            "key": self.key,
            "template": self.template,
            "rank": self.rank,
            "text": self.text,
        }


@dataclass
class SessionVerdict:
    """A session: its id, keys, the numbers of its lines, whether it is anomalous and why."""

    session: str
    keys: list[int]
    unexpected: list[UnexpectedLine] = field(default_factory=list)
    line_numbers: list[int] = field(default_factory=list)

    @property
    def anomalous(self) -> bool:
        return bool(self.unexpected)

    def to_json(self) -> dict[str, Any]:
        return {
            "session": self.session,
            "anomalous": self.anomalous,
            "keys": len(self.keys),
            # The session's lines in order (none for key files), so that a reader can show
            # the unexpected lines among the others.
            "lines": self.line_numbers,
            "unexpected": [u.to_json() for u in self.unexpected],
        }


@dataclass
class LogResult:
    """The verdict on every session of a log."""

    source: str
    top_g: int
    window: int
    sessions: list[SessionVerdict]
    lines: int = 0
    unmatched_lines: int = 0
    without_session: int = 0

    @property
    def flagged(self) -> list[SessionVerdict]:
        return [s for s in self.sessions if s.anomalous]

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "top_g": self.top_g,
            "window": self.window,
            "sessions": len(self.sessions),
            "anomalous": len(self.flagged),
            "lines": self.lines,
            "unmatched_lines": self.unmatched_lines,
            "lines_without_session": self.without_session,
            "flagged": [s.to_json() for s in self.flagged],
        }

    def write_csv(self, path: Path) -> Path:
        """One row per session: id, keys, anomalous, unexpected line numbers and the first
        unexpected template."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(
                ["session", "keys", "anomalous", "unexpected_lines", "first_unexpected_template"]
            )
            for verdict in self.sessions:
                lines = [
                    str(u.line if u.line is not None else f"#{u.position}")
                    for u in verdict.unexpected
                ]
                first = verdict.unexpected[0].template if verdict.unexpected else ""
                writer.writerow(
                    [
                        verdict.session,
                        len(verdict.keys),
                        int(verdict.anomalous),
                        " ".join(lines),
                        first,
                    ]
                )
        return path


def _log_step(predictor: Predictor) -> LogKeys:
    for step in predictor.preprocessor.steps:
        if isinstance(step, LogKeys):
            return step
    raise PredictionInputError(f"{predictor.ref}: the model keeps no log preprocessing")


def _top_g(predictor: Predictor, top_g: int | None) -> int:
    if top_g is not None:
        if top_g < 1:
            raise PredictionInputError(f"top_g must be at least 1, not {top_g}")
        return top_g
    rule = predictor.metadata.get("anomaly") or {}
    return int(rule.get("top_g") or 9)


def detect_log_anomalies(
    predictor: Predictor,
    source: Path | bytes,
    *,
    name: str = "log",
    top_g: int | None = None,
) -> LogResult:
    """Flag the anomalous sessions of a log (a file, or a posted body).

    Args:
        predictor: a ``next_key`` model.
        source: a raw log file (models of mined templates) or a key file (models of
            pre-parsed keys), or its bytes.
        name: what to call a posted body in messages.
        top_g: override the model's g.

    Raises:
        PredictionInputError: a file that is missing or too large, or lines that do not fit
            the model's log format (naming the file and line).
    """
    if isinstance(source, bytes):
        if len(source) > MAX_LOG_BYTES:
            raise PredictionInputError(f"{name}: larger than {MAX_LOG_BYTES:,} bytes")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / Path(name).name
            path.write_bytes(source)
            return _detect(predictor, path, name, top_g)
    if not source.is_file():
        raise PredictionInputError(f"{source}: no such file")
    if source.stat().st_size > MAX_LOG_BYTES:
        raise PredictionInputError(f"{source}: larger than {MAX_LOG_BYTES:,} bytes")
    return _detect(predictor, source, str(source), top_g)


def _detect(predictor: Predictor, path: Path, shown: str, top_g: int | None) -> LogResult:
    from athanor.errors import DataError

    step = _log_step(predictor)
    g = _top_g(predictor, top_g)
    parsing = step.parsing
    lines: dict[int, Any] = {}
    templates: dict[int, str] = {}
    unmatched = without = total = 0
    try:
        if parsing is None:
            found = read_key_file(path, 0)
            session_lines: list[list[int]] = [[] for _ in found.keys]
        else:
            miner = TemplateMiner.from_state(parsing["miner"])
            templates = {t.key: t.template for t in miner.templates}
            parsed = parse_log_file(
                path,
                miner,
                log_format=parsing.get("log_format"),
                session=parsing.get("session"),
                time_format=parsing.get("time_format"),
                learn=False,
                keep_lines=True,
            )
            found, lines, without = parsed.sessions, parsed.lines, parsed.without_session
            session_lines = found.lines
            total = len(lines)
    except DataError as exc:
        raise PredictionInputError(str(exc).replace(str(path), shown)) from None
    ranks = key_ranks(
        predictor.network,
        found.keys,
        step.index,
        step.window,
        end=step.end,
        device=predictor.device,
    )
    verdicts = []
    for session, keys, numbers, rank in zip(
        found.ids, found.keys, session_lines, ranks, strict=True
    ):
        verdict = SessionVerdict(
            session=session, keys=keys.tolist(), line_numbers=[int(n) for n in numbers]
        )
        unmatched += int((keys == UNKNOWN_KEY).sum()) if parsing is not None else 0
        for position in np.flatnonzero(rank >= g).tolist():
            if position >= len(keys):  # the session's end
                verdict.unexpected.append(
                    UnexpectedLine(
                        position=position,
                        key=None,
                        rank=_rank(rank[position]),
                        template="<end of session>: normal sessions go on here",
                    )
                )
                continue
            key = int(keys[position])
            number = numbers[position] if numbers else None
            line = lines.get(number) if number is not None else None
            verdict.unexpected.append(
                UnexpectedLine(
                    position=position,
                    key=key,
                    rank=_rank(rank[position]),
                    line=number,
                    text=line.text if line is not None else None,
                    template=templates.get(key)
                    or ("<no template of the training logs fits>" if key == UNKNOWN_KEY else None),
                )
            )
        verdicts.append(verdict)
    return LogResult(
        source=shown,
        top_g=g,
        window=step.window,
        sessions=verdicts,
        lines=total,
        unmatched_lines=unmatched,
        without_session=without,
    )


def _rank(value: Any) -> int | None:
    value = int(value)
    return None if value >= np.iinfo(np.int64).max else value + 1
