"""Who holds a run, a job or a search: one process (pid on a host) that says it lives.

A :class:`Lease` is the same for the three: a process on this machine is alive while its pid
exists (and is not a zombie); a process on another machine is taken for alive while its
heartbeat is younger than a timeout. :func:`athanor.processes.process_alive` is the one pid
check of the platform.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime

from athanor.processes import process_alive

__all__ = ["Lease", "aware", "process_alive", "utcnow"]


HOST_NAME_VARIABLE = "ATHANOR_HOST_NAME"
# A worker that an executor identifies by an id of its own (the Ray executor: pids repeat
# across a cluster's nodes) holds its leases under that id instead of its pid.
WORKER_ID_VARIABLE = "ATHANOR_WORKER_ID"
# Host names with this prefix name a cluster, whose processes run on many machines: a pid
# means nothing there, so only heartbeats tell whether they live.
CLUSTER_HOST_PREFIX = "ray:"


def this_host() -> str:
    """The name this machine holds leases under: ``ATHANOR_HOST_NAME``, else its host name.

    A worker on another machine may be given a name (``athanor worker --name``); two workers
    under one name would take each other's processes for their own, so names are unique.
    """
    return os.environ.get(HOST_NAME_VARIABLE) or socket.gethostname()


def this_process_id() -> int:
    """The id this process holds leases under: ``ATHANOR_WORKER_ID``, else its pid."""
    given = os.environ.get(WORKER_ID_VARIABLE)
    return int(given) if given else os.getpid()


def utcnow() -> datetime:
    """Now, in UTC (every stored moment is UTC)."""
    return datetime.now(UTC)


def aware(moment: datetime | None) -> datetime | None:
    """``moment`` with its UTC zone (SQLite hands back naive datetimes)."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


@dataclass(frozen=True)
class Lease:
    """A process holding something: its pid, its host and when it last said it lives.

    Attributes:
        pid: the process, or ``None`` when nobody holds it.
        host: the machine the process runs on (:func:`this_host`).
        heartbeat_at: its last heartbeat (UTC), or ``None`` before the first one.
    """

    pid: int | None
    host: str
    heartbeat_at: datetime | None = None

    @classmethod
    def of_this_process(cls, now: datetime | None = None) -> Lease:
        """A lease held by the calling process, beating now."""
        return cls(this_process_id(), this_host(), now or utcnow())

    @property
    def held(self) -> bool:
        return self.pid is not None

    @property
    def local(self) -> bool:
        """Whether the holder runs on this machine (an empty host is taken for this one; a
        cluster's processes never are: they may run on any of its nodes)."""
        if self.host.startswith(CLUSTER_HOST_PREFIX):
            return False
        return self.host in ("", this_host())

    def silent_for(self, now: datetime | None = None) -> float | None:
        """Seconds since the last heartbeat (``None`` before the first one)."""
        if self.heartbeat_at is None:
            return None
        return ((now or utcnow()) - self.heartbeat_at).total_seconds()

    def stale(self, timeout: float, now: datetime | None = None) -> bool:
        """Whether the last heartbeat is older than ``timeout`` seconds (never before one)."""
        silent = self.silent_for(now)
        return silent is not None and silent > timeout

    def alive(self, *, timeout: float, now: datetime | None = None) -> bool:
        """Whether the holder seems alive: on this machine, its process runs; elsewhere, its
        heartbeat is younger than ``timeout`` seconds (the pid means nothing here)."""
        if self.pid is None:
            return False
        if self.local:
            return process_alive(self.pid)
        return self.heartbeat_at is not None and not self.stale(timeout, now)
