"""A job's log: its workers' standard output and error, one file across attempts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from athanor.store import JobRecord
from athanor.store.artifacts import ArtifactStore
from athanor.store.lease import this_host

LOG_NAME = "job.log"
MAX_CHUNK = 1 << 20


def log_path(artifacts: ArtifactStore, job_id: int) -> Path:
    """Where the log of job ``job_id`` is written."""
    return artifacts.run_dir(job_id) / LOG_NAME


def readable_log(artifacts: ArtifactStore, job: JobRecord) -> Path:
    """The log of ``job``, refreshed from the artifact bucket when the job runs (or last ran)
    on another machine, whose worker publishes it there as it grows."""
    path = log_path(artifacts, job.id)
    if job.worker_host not in ("", this_host()) and artifacts.remote_url:
        artifacts.refresh(path)
    return path


@dataclass(frozen=True)
class LogChunk:
    """Text read from a log: ``offset`` and ``next_offset`` are byte positions."""

    offset: int
    next_offset: int
    size: int
    text: str


def read_log(
    path: Path, offset: int = 0, limit: int = MAX_CHUNK, *, whole: bool = False
) -> LogChunk:
    """Read up to ``limit`` bytes of complete lines from byte ``offset``.

    A line still being written is left for the next read, unless ``whole`` (the job has
    ended, so nothing more will come). Bytes that are not UTF-8 are replaced, never fatal.

    Args:
        path: the log file (missing: empty).
        offset: where to start; negative counts from the end (``-4096``: the last 4 KiB).
        limit: most bytes to read (at most 1 MiB).
        whole: also return a final line without its newline.
    """
    limit = max(1, min(limit, MAX_CHUNK))
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return LogChunk(0, 0, 0, "")
    if offset < 0:
        offset = max(0, size + offset)
    offset = min(offset, size)
    with path.open("rb") as handle:
        handle.seek(offset)
        data = handle.read(limit)
    if len(data) == limit or not whole:
        cut = data.rfind(b"\n")
        if cut >= 0:
            data = data[: cut + 1]
        elif len(data) < limit:
            data = b""  # a partial line: wait for the rest of it
    return LogChunk(offset, offset + len(data), size, data.decode("utf-8", errors="replace"))
