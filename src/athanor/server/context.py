"""What the API's handlers share: the store, the machine, the scheduler, limits and uploads."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from athanor.jobs.machine import Machine
from athanor.jobs.scheduler import Scheduler
from athanor.server.deployments import DeploymentManager
from athanor.server.guards import LOOPBACK_NAMES
from athanor.server.sessions import ConsoleSessions
from athanor.server.uploads import UploadArea
from athanor.store import Store
from athanor.store.runs import utcnow

if TYPE_CHECKING:
    from athanor.server.host_stats import HostStats

MB = 1 << 20


@dataclass
class PlatformContext:
    """One running platform.

    Args:
        store: the metadata store and artifacts.
        machine: the resources jobs share.
        scheduler: runs the queue (``None``: jobs are queued but nothing starts them).
        max_body_bytes: largest request body, uploads excepted (default 1 MiB).
        max_upload_bytes: most bytes one upload may hold (default 2 GiB).
        on_started: called once the API serves (``athanor up`` writes platform.json then).
        on_stopped: called when it stops.
        import_roots: folders whose files clients on this machine may import by path.
        url: where the platform serves.
        started_at: when it started.
        stopping: set when it stops (log streams end).
        allowed_hosts: the names a request's ``Host`` header may carry.
        no_auth: loopback clients may call without a credential (``--no-auth``).
        sessions: the console's login links and sessions.
    """

    store: Store
    machine: Machine
    scheduler: Scheduler | None = None
    max_body_bytes: int = 1 * MB
    max_upload_bytes: int = 2048 * MB
    url: str = ""
    import_roots: tuple[Path, ...] = ()
    started_at: datetime = field(default_factory=utcnow)
    on_started: Callable[[], None] | None = None
    on_stopped: Callable[[], None] | None = None
    stopping: threading.Event = field(default_factory=threading.Event)
    allowed_hosts: frozenset[str] = LOOPBACK_NAMES
    no_auth: bool = False
    sessions: ConsoleSessions = field(default_factory=ConsoleSessions)

    def __post_init__(self) -> None:
        self.uploads = UploadArea(self.store.settings.home / "uploads", self.max_upload_bytes)
        self.deployments = DeploymentManager(self.store)
        self._host_stats: HostStats | None = None

    @property
    def host_stats(self) -> HostStats:
        """The machine's use now (created on first use: it imports psutil)."""
        if self._host_stats is None:
            from athanor.server.host_stats import HostStats

            self._host_stats = HostStats(self.store.settings.home, self.machine)
        return self._host_stats

    @property
    def job_machine(self) -> Machine | None:
        """What submitted jobs are checked against: this machine, or ``None`` when the
        platform runs no jobs itself (they wait for the team's workers)."""
        if self.scheduler is not None and not self.scheduler.places_jobs:
            return None
        return self.machine

    def wake_scheduler(self) -> None:
        if self.scheduler is not None:
            self.scheduler.wake()
