"""Log datasets as versions: raw logs (templates mined with Drain, lines grouped into
sessions) or pre-parsed key files, written into a version's folder and loaded back.

A version holds the sessions (see :class:`~athanor.data.log_sessions.LogSessions`) and, for
raw logs, ``templates.json``: the miner's state with every template's count and example,
which models trained on the version carry to parse new logs the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from athanor.data.log_parsing import parse_log_file, parsing_record
from athanor.data.log_sessions import HDFS_SESSION, LABELS, LogSessions, read_key_files
from athanor.data.log_templates import TemplateMiner
from athanor.data.raw import RawDataset
from athanor.errors import DataError
from athanor.spec.imports import ImportOptions

TEMPLATES_JSON = "templates.json"
LOG_SUFFIXES = (".log",)


def _files(source: Path) -> list[Path]:
    if source.is_file():
        return [source]
    return sorted(p for p in source.rglob("*") if p.is_file() and not p.name.startswith("."))


def _session_info(sessions: LogSessions) -> dict[str, Any]:
    lengths = np.array([len(k) for k in sessions.keys]) if len(sessions) else np.zeros(1)
    counts = np.bincount(sessions.labels, minlength=2).tolist()
    keys = np.concatenate(sessions.keys) if len(sessions) else np.zeros(0, np.int64)
    return {
        "rows": len(sessions),
        "classes": list(LABELS),
        "class_counts": dict(zip(LABELS, counts, strict=True)),
        "sessions": {
            "count": len(sessions),
            "keys": len(keys),
            "distinct_keys": len(np.unique(keys)),
            "length_min": int(lengths.min()),
            "length_median": float(np.median(lengths)),
            "length_max": int(lengths.max()),
        },
    }


def write_log_version(source: Path, folder: Path, options: ImportOptions) -> dict[str, Any]:
    """Mine templates from raw log files (in name order) and group their lines into sessions."""
    miner = TemplateMiner()
    parts: list[LogSessions] = []
    skipped: list[dict[str, str]] = []
    without = lines = 0
    seconds = 0.0
    for file in _files(source):
        parsed = parse_log_file(
            file,
            miner,
            log_format=options.log_format,
            session=options.session,
            time_format=options.time_format,
            learn=True,
            encoding=options.encoding,
            skip_bad=options.skip_bad,
        )
        # Sessions of different files stay apart: an id names a session within its file.
        parts.append(parsed.sessions)
        skipped += parsed.skipped
        without += parsed.without_session
        seconds += parsed.seconds
    lines = sum(t.count for t in miner.templates)
    if not lines:
        raise DataError(f"{source}: no log lines")
    sessions = LogSessions(
        keys=[k for p in parts for k in p.keys],
        ids=[i for p in parts for i in p.ids],
        labels=np.concatenate([p.labels for p in parts]),
    )
    if not len(sessions):
        raise DataError(
            f"{source}: no line names a session id; set --session to the id's regex "
            f"(now '{options.session or HDFS_SESSION}') or 'window:SECONDS'"
        )
    sessions.save(folder)
    record = parsing_record(miner, options.log_format, options.session, options.time_format)
    (folder / TEMPLATES_JSON).write_text(json.dumps(record))
    notes = []
    if without:
        notes.append(f"{without:,} line(s) named no session id and belong to no session")
    return {
        "kind": "logs",
        "task": "next_key",
        "lines": lines,
        "templates": len(miner.templates),
        "lines_per_second": round(lines / seconds) if seconds > 0 else None,
        **_session_info(sessions),
        "labeled": False,
        "report": {"skipped_count": len(skipped), "skipped": skipped, "notes": notes},
    }


def write_log_keys_version(source: Path, folder: Path, options: ImportOptions) -> dict[str, Any]:
    """Sessions of pre-parsed key files (one per line; files named abnormal are anomalous)."""
    sessions = read_key_files(_files(source))
    sessions.save(folder)
    return {
        "kind": "logs",
        "task": "next_key",
        **_session_info(sessions),
        "labeled": bool(sessions.labels.any()),
        "report": {"skipped_count": 0, "skipped": [], "notes": []},
    }


def load_log_version(
    folder: Path, *, name: str, version: str, origin: dict[str, str]
) -> RawDataset:
    """The sessions of a log version as a raw dataset (with its templates, if mined)."""
    sessions = LogSessions.load(folder)
    parsing = None
    if (folder / TEMPLATES_JSON).is_file():
        parsing = json.loads((folder / TEMPLATES_JSON).read_text())
    return raw_from_sessions(sessions, name, parsing, version=version, origin=origin)


def raw_from_sessions(
    sessions: LogSessions,
    name: str,
    parsing: dict[str, Any] | None,
    *,
    version: str | None = None,
    origin: dict[str, str] | None = None,
) -> RawDataset:
    """A raw ``logs`` dataset: ``x`` the sessions' key arrays, ``y`` their labels."""
    x = np.empty(len(sessions), dtype=object)
    x[:] = sessions.keys
    return RawDataset(
        name=name,
        kind="logs",
        task="next_key",
        x=x,
        y=sessions.labels,
        classes=list(LABELS),
        target="next_key",
        log={"parsing": parsing, "ids": sessions.ids},
        version=version,
        origin=origin or {},
    )


def template_table(raw: RawDataset) -> list[dict[str, Any]]:
    """Templates of a log dataset with their key, count and example (mined logs), or the
    keys seen and their counts (key files)."""
    parsing = (raw.log or {}).get("parsing")
    if parsing:
        return [
            {k: t[k] for k in ("key", "template", "count", "example")}
            for t in parsing["miner"]["templates"]
        ]
    keys = np.concatenate(list(raw.x)) if len(raw.x) else np.zeros(0, np.int64)
    values, counts = np.unique(keys, return_counts=True)
    return [
        {"key": int(k), "template": None, "count": int(c), "example": None}
        for k, c in zip(values.tolist(), counts.tolist(), strict=True)
    ]
