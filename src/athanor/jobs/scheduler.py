"""The scheduler: starts queued jobs when their resources are free and watches their workers.

Each pass (twice a second, and at once after a submission or a cancellation) it

1. collects workers that ended: a worker that died without recording its run's outcome
   (killed, crashed, silent for ``heartbeat_timeout``, or without a first heartbeat for
   ``start_timeout``) is handled by the restart policy:
   requeued to resume from its last checkpoint while ``max_restarts`` allows, else failed,
   with the reason;
2. delivers stop requests: SIGTERM (the worker checkpoints and stops), then SIGKILL when the
   job's ``stop_timeout`` has passed;
3. starts what fits (see :mod:`athanor.jobs.placement`) and records why the others wait.

Everything it knows is in the store, so a scheduler started after a crash carries on: it
finds running workers by their pid and heartbeat, and dead ones are handled as above.

Several machines may share one store (team mode: a PostgreSQL database and a bucket), each
with its scheduler: the platform's and those of ``athanor worker`` on other machines. Each
starts, signals and watches only the workers of its own machine (its host name); a job is
reserved in the store before a worker is started for it, so exactly one machine takes it; and
a job whose machine has gone silent (powered off, cut off from the database) is handled by
any scheduler as a dead worker, after the heartbeat timeout.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
import traceback
from datetime import datetime

from athanor.errors import Conflict
from athanor.jobs.executor import Executor, Launch, WorkerState
from athanor.jobs.logs import log_path
from athanor.jobs.machine import Machine
from athanor.jobs.placement import Demand, Holding, never_fits, plan
from athanor.runs import lifecycle
from athanor.runs.lifecycle import DEFAULT_RESTART_POLICY, RestartPolicy
from athanor.runs.recovery import end_attempt
from athanor.store import JobRecord, StopRequest, Store
from athanor.store.checkpoints import CheckpointFolder
from athanor.store.lease import HOST_NAME_VARIABLE, utcnow

LOG_SHARE_SECONDS = 2.0
WAITING_FOR_A_WORKER = (
    "waiting for a worker: this platform runs no jobs itself; a machine joins with "
    "'athanor worker --platform URL --token TOKEN'"
)


def _age(moment: datetime | None, now: datetime) -> float | None:
    return None if moment is None else (now - moment).total_seconds()


class Scheduler:
    """Runs the queue of one store on one machine through one executor.

    Args:
        store: the platform's store.
        machine: the resources to share.
        executor: starts and signals workers.
        tick_seconds: time between passes (default 0.5 s).
        heartbeat_timeout: a worker silent this long is taken for dead (default 30 s; a
            worker heartbeats every second).
        start_timeout: a worker that has not sent its first heartbeat this long after it
            was started is taken for dead (default 120 s: a warm worker handed a job while
            it still imports PyTorch on a busy machine beats only once it has).
        restart_policy: restart or fail a job whose worker died (default: while the job's
            ``max_restarts`` allows, :func:`athanor.runs.lifecycle.restart_up_to`).
        places_jobs: start jobs on this machine (default); without, the scheduler only
            watches jobs and says that they wait for a worker (a platform that runs no jobs
            itself: ``athanor up --no-local-jobs``).
        reports_waits: record why queued jobs wait (default); a worker on another machine
            leaves that to the platform, whose view is the team's.
        shares_logs: publish the logs of this machine's jobs to the artifact store's bucket
            while they run (a worker on another machine, whose platform reads them there).
    """

    def __init__(
        self,
        store: Store,
        machine: Machine,
        executor: Executor,
        *,
        tick_seconds: float = 0.5,
        heartbeat_timeout: float = 30.0,
        start_timeout: float = 120.0,
        restart_policy: RestartPolicy = DEFAULT_RESTART_POLICY,
        places_jobs: bool = True,
        reports_waits: bool = True,
        shares_logs: bool = False,
    ) -> None:
        self.store = store
        self.machine = machine
        self.executor = executor
        self.tick_seconds = tick_seconds
        self.heartbeat_timeout = heartbeat_timeout
        self.start_timeout = start_timeout
        self.restart_policy = restart_policy
        self.places_jobs = places_jobs
        self.reports_waits = reports_waits
        self.shares_logs = shares_logs
        self._logs_shared_at = 0.0
        self.last_error: str | None = None
        self.passes = 0
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._killed: dict[int, str] = {}
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Run passes on a background thread until :meth:`shutdown`."""
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Make the next pass happen now (after a submission or a stop request)."""
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.run_once()
                self.last_error = None
            except Exception as exc:  # keep scheduling; say what went wrong, loudly
                self.last_error = f"{type(exc).__name__}: {exc}"
                traceback.print_exc(file=sys.stderr)
            self._wake.wait(self.tick_seconds)
            self._wake.clear()

    def shutdown(self, *, preempt: bool = True, reason: str = "the platform is shutting down"):
        """Stop scheduling. With ``preempt``, running jobs are stopped at a checkpoint and
        queued again (they resume when a platform runs again); this waits for them, up to
        their ``stop_timeout``, then kills what is left.
        """
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        with self._lock:
            if preempt:
                for job in self._local(self.store.jobs.placed()):
                    if job.stop_request is None and not job.status.final:
                        with contextlib.suppress(Conflict):  # it ended meanwhile
                            self.store.jobs.request_stop(
                                job.id, StopRequest.PREEMPT, f"preempted: {reason}"
                            )
                deadline = (
                    time.monotonic()
                    + 10
                    + max((job.stop_timeout for job in self.store.jobs.placed()), default=0.0)
                )
                while time.monotonic() < deadline:
                    self._reap()
                    remaining = self._local(self.store.jobs.placed())
                    if not remaining:
                        break
                    self._deliver_stops(remaining)
                    time.sleep(0.2)
            self.executor.close()

    # --- one pass ----------------------------------------------------------------------

    def run_once(self) -> None:
        """One pass: collect ended workers, deliver stops, start what fits."""
        with self._lock:
            self._reap()
            placed = self._local(self.store.jobs.placed())
            self._deliver_stops(placed)
            self._place()
            self._share_logs(placed)
            if not self._stopping.is_set():
                self.executor.prepare()
            self.passes += 1

    def _local(self, jobs: list[JobRecord]) -> list[JobRecord]:
        """The jobs whose workers run on this machine (others heartbeat to theirs)."""
        return [job for job in jobs if job.worker_host in ("", self.machine.host)]

    def _foreign(self, jobs: list[JobRecord]) -> list[JobRecord]:
        """The jobs whose workers run on other machines."""
        return [job for job in jobs if job.worker_host not in ("", self.machine.host)]

    def _reap(self) -> None:
        now = utcnow()
        placed = self.store.jobs.placed()
        for job in self._foreign(placed):
            how = self._silence(job, now, outcome="and was taken for lost")
            if how is not None:  # nothing to signal there: its machine is gone or cut off
                end_attempt(
                    self.store,
                    job.id,
                    pid=job.worker_pid or 0,
                    how=how,
                    exit_code=None,
                    checkpoint_step=job.checkpoint_step,
                    policy=self.restart_policy,
                )
        for job in self._local(placed):
            pid = job.worker_pid
            assert pid is not None
            state = self.executor.state(pid)
            how = None
            if not state.alive:
                how = self._killed.pop(pid, None) or state.describe()
            else:
                how = self._silence(job, now)
                if how is not None:
                    self.executor.signal(pid, signal.SIGKILL)
                    state = WorkerState(alive=False, exit_code=-signal.SIGKILL)
            if how is not None:
                if self.shares_logs:  # its last lines, before the platform reads it as ended
                    self.store.artifacts.publish(log_path(self.store.artifacts, job.id))
                end_attempt(
                    self.store,
                    job.id,
                    pid=pid,
                    how=how,
                    exit_code=state.exit_code,
                    checkpoint_step=self._checkpoint_step(job.id),
                    policy=self.restart_policy,
                )
        reap = getattr(self.executor, "reap", None)
        if reap is not None:
            reap()

    def _silence(
        self, job: JobRecord, now: datetime, *, outcome: str = "and was killed"
    ) -> str | None:
        """Why a live worker is taken for dead: silent too long (``None`` while it is not)."""
        lease = job.lease
        silent = lease.silent_for(now) or 0.0
        if job.heartbeat_at is None:  # starting: its lease counts from its placement
            if lease.stale(self.start_timeout, now):
                return (
                    f"sent no heartbeat in the {silent:.0f} s since it was started {outcome} "
                    f"(start timeout {self.start_timeout:g} s)"
                )
        elif lease.stale(self.heartbeat_timeout, now):
            return (
                f"sent no heartbeat for {silent:.0f} s {outcome} "
                f"(job.heartbeat_timeout {self.heartbeat_timeout:g} s)"
            )
        return None

    def _checkpoint_step(self, job_id: int) -> int | None:
        """The step of the run's newest complete checkpoint."""
        return CheckpointFolder.of_run(self.store.artifacts.run_dir(job_id)).newest_step()

    def _deliver_stops(self, placed: list[JobRecord]) -> None:
        now = utcnow()
        for job in placed:
            if job.stop_request is None or job.worker_pid is None:
                continue
            if job.stop_signalled_at is None:
                self.executor.signal(job.worker_pid, signal.SIGTERM)
                self.store.jobs.mark_signalled(job.id)
                continue
            waited = _age(job.stop_signalled_at, now) or 0.0
            if waited > job.stop_timeout and job.worker_pid not in self._killed:
                self._killed[job.worker_pid] = (
                    f"did not stop within {job.stop_timeout:g} s of SIGTERM "
                    "(job.stop_timeout) and was killed"
                )
                self.executor.signal(job.worker_pid, signal.SIGKILL)

    def _place(self) -> None:
        if self._stopping.is_set():
            return
        queue = self.store.jobs.queue()
        if not queue:
            return
        if not self.places_jobs:
            if self.reports_waits:
                self.store.jobs.set_wait_reasons({job.id: WAITING_FOR_A_WORKER for job in queue})
            return
        holdings = [
            Holding(
                job.id,
                tuple(job.devices),
                job.cpus,
                job.memory_gb,
                job.progress.get("eta_seconds"),
            )
            for job in self._local(self.store.jobs.placed())
        ]
        demands = [Demand(job.id, job.gpus, job.cpus, job.memory_gb, job.priority) for job in queue]
        if not self.reports_waits:  # a worker of a team: what never fits here is for others
            demands = [d for d in demands if never_fits(d, self.machine) is None]
        decision = plan(self.machine, holdings, demands)
        by_id = {job.id: job for job in queue}
        for placement in decision.placements:
            job = by_id[placement.job_id]
            if not self.store.jobs.reserve(job.id, self.machine.host):
                continue  # another machine's scheduler took it
            launch = Launch(
                job_id=job.id,
                attempt=job.attempt + 1,
                devices=placement.devices,
                cpus=job.cpus,
                log_path=log_path(self.store.artifacts, job.id),
                workers=int(job.resources.get("workers", 1)),
                memory_gb=job.resources.get("memory_gb"),
                # the worker holds the job under this machine's name in the team
                env={HOST_NAME_VARIABLE: self.machine.host},
            )
            if self.shares_logs:  # the log continues the earlier attempts' (across machines)
                self.store.artifacts.refresh(launch.log_path)
            try:
                pid = self.executor.start(launch)
            except OSError as exc:
                self.store.runs.transition(job.id, lifecycle.could_not_start(exc))
                continue
            try:
                self.store.jobs.place(
                    job.id,
                    pid=pid,
                    host=self.machine.host,
                    devices=list(placement.devices),
                    starting=lifecycle.attempt_starting(launch.attempt, pid),
                )
            except Conflict:  # its reservation lapsed and another machine took the job
                self.executor.signal(pid, signal.SIGKILL)
        if self.reports_waits:
            self.store.jobs.set_wait_reasons(decision.waiting)

    def _share_logs(self, placed: list[JobRecord]) -> None:
        """Publish the growing logs of this machine's jobs, every few seconds."""
        if not self.shares_logs or time.monotonic() - self._logs_shared_at < LOG_SHARE_SECONDS:
            return
        self._logs_shared_at = time.monotonic()
        for job in placed:
            path = log_path(self.store.artifacts, job.id)
            if path.exists():
                self.store.artifacts.publish(path)
