"""A worker machine of a team: runs the platform's queued jobs on this machine.

``athanor worker`` joins a platform (see ``server/routes/workers.py``), then works on the
same PostgreSQL database and artifact bucket as the platform, with its own ``ATHANOR_HOME``
as a cache. Its scheduler is the platform's own (:class:`athanor.jobs.scheduler.Scheduler`)
on this machine's resources: it reserves the queued jobs that fit, starts a worker process
for each, delivers their stop requests, restarts or fails them when they die, and publishes
their logs to the bucket as they grow. Metrics, progress, heartbeats and checkpoints go where
a local job's go (the database and the bucket), so the platform's console follows them live.
"""

from __future__ import annotations

import signal
import threading

from athanor.errors import UserError
from athanor.jobs.executor import LocalExecutor
from athanor.jobs.machine import Machine
from athanor.jobs.scheduler import Scheduler
from athanor.settings import Settings
from athanor.store import open_store


def run_worker(
    machine: Machine,
    settings: Settings,
    *,
    platform_url: str,
    warm_workers: int = 1,
    heartbeat_timeout: float = 30.0,
    ready: threading.Event | None = None,
) -> None:
    """Run the platform's jobs on ``machine`` until SIGTERM or SIGINT.

    On a stop, running jobs checkpoint and go back to the queue (another machine, or this one
    when it joins again, resumes them), as when the platform itself shuts down.

    Args:
        machine: this machine's resources and its name in the team (``machine.host``).
        settings: the shared database and bucket, with this machine's home as the cache.
        platform_url: the platform joined (for the messages).
        warm_workers: worker processes kept ready for the next job (0 or 1).
        heartbeat_timeout: seconds of silence after which a job's worker is taken for dead.
        ready: set once the scheduler runs (for callers that wait for it).

    Raises:
        UserError: the store is not shared (no artifact bucket).
    """
    store = open_store(settings)
    if not getattr(store.artifacts, "remote_url", None):
        raise UserError(
            "a worker on another machine needs the platform's artifact bucket "
            "(ATHANOR_ARTIFACTS_URL); the platform did not give one"
        )
    executor = LocalExecutor(
        warm_workers=warm_workers, spare_log=settings.home / "logs" / "workers.log"
    )
    scheduler = Scheduler(
        store,
        machine,
        executor,
        heartbeat_timeout=heartbeat_timeout,
        reports_waits=False,  # the platform says why jobs wait, for the whole team
        shares_logs=True,
    )
    stop = threading.Event()
    previous = {
        signum: signal.signal(signum, lambda *_: stop.set())
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        scheduler.start()
        gpu_text = ", ".join(f"GPU {g.index}" for g in machine.gpus) or "no GPUs"
        print(
            f"worker {machine.host} joined the platform at {platform_url} ({gpu_text}, "
            f"{machine.cpus} CPU slots; cache {settings.home}); Ctrl-C stops it (its jobs "
            "checkpoint and go back to the queue)",
            flush=True,
        )
        if ready is not None:
            ready.set()
        stop.wait()
        print(f"worker {machine.host} stopping: its jobs checkpoint and are queued again")
        scheduler.shutdown(preempt=True, reason=f"worker {machine.host} is stopping")
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    print(f"worker {machine.host} stopped", flush=True)
