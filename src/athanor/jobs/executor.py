"""Executors start, signal and watch the worker processes that train jobs.

The scheduler talks to an :class:`Executor` only, so where workers run is a choice of
executor: :class:`LocalExecutor` runs them as processes of this machine (a Ray executor
could run them on a cluster). Executors register by name in :data:`EXECUTORS`.

A local worker runs in its own session, so a platform killed with SIGKILL does not take its
jobs down: the next platform finds them by their recorded pid and heartbeat. Its standard
output and error go to the job's log file, opened for appending by every attempt.

Starting Python and importing PyTorch takes seconds; the local executor keeps one *warm*
worker that has done so and waits on its standard input for a job, so a job starts in the
time its data takes to load. It serves jobs without GPUs; a GPU job gets a fresh process, whose
CUDA sees only the job's GPUs. Each worker trains one job attempt and exits.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from athanor.store.lease import process_alive


@dataclass(frozen=True)
class Launch:
    """One attempt of a job to start."""

    job_id: int
    attempt: int
    devices: tuple[int, ...]
    cpus: int
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    workers: int = 1
    """Data-parallel ranks (``job.resources.workers``); the devices and CPUs are theirs."""
    memory_gb: float | None = None
    """Memory the job reserved (``job.resources.memory_gb``), for executors that enforce it."""

    def worker_env(self) -> dict[str, str]:
        """What the worker's environment adds: its GPUs and its thread count."""
        threads = str(self.cpus)
        return {
            **self.env,
            # Only the GPUs given to the job are visible; none hides them all, so a CPU job
            # never allocates memory on a GPU another job trains on.
            "CUDA_VISIBLE_DEVICES": ",".join(str(d) for d in self.devices),
            "OMP_NUM_THREADS": threads,
            "MKL_NUM_THREADS": threads,
            "ATHANOR_JOB_ID": str(self.job_id),
            "ATHANOR_JOB_ATTEMPT": str(self.attempt),
            "ATHANOR_JOB_CPUS": threads,
            "PYTHONUNBUFFERED": "1",
        }


@dataclass(frozen=True)
class WorkerState:
    """Whether a worker process is alive, and how it ended when it is not."""

    alive: bool
    exit_code: int | None = None

    def describe(self) -> str:
        """``was killed by SIGKILL``, ``exited with status 1``..."""
        code = self.exit_code
        if code is None:
            return "is gone (its process no longer exists)"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"was killed by {name}"
        return f"exited with status {code} without recording how the run ended"


class Executor(ABC):
    """Starts and controls workers; the scheduler's only way to reach them."""

    name: ClassVar[str]

    @abstractmethod
    def start(self, launch: Launch) -> int:
        """Start a worker for ``launch``; returns its pid."""

    @abstractmethod
    def state(self, pid: int) -> WorkerState:
        """Whether the worker ``pid`` is alive (and its exit status, if known)."""

    @abstractmethod
    def signal(self, pid: int, signum: int) -> None:
        """Send ``signum`` to the worker ``pid`` (no error when it has ended)."""

    def prepare(self) -> None:  # noqa: B027 - optional hook
        """Called on each scheduler pass: e.g. keep a warm worker ready."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the executor holds (warm workers); running jobs are left alone."""


EXECUTORS: dict[str, type[Executor]] = {}
SPARE_RETRY_SECONDS = 30.0


def register_executor(cls: type[Executor]) -> type[Executor]:
    """Class decorator: make an executor selectable by its ``name``."""
    EXECUTORS[cls.name] = cls
    return cls


def _is_worker(pid: int) -> bool:
    """Whether ``pid`` is alive and, where the OS tells, an Athanor worker (not a reused pid)."""
    if not process_alive(pid):
        return False
    try:
        text = (Path("/proc") / str(pid) / "cmdline").read_bytes()
    except OSError:  # no /proc (macOS), or not ours to read: the pid is all there is
        return True
    return b"athanor.jobs.worker" in text


@register_executor
class LocalExecutor(Executor):
    """Workers are processes of this machine, started in sessions of their own.

    Args:
        env: the environment workers start with (default: this process's).
        warm_workers: how many warm workers to keep ready (0 or 1; default 1).
        spare_log: where warm workers write before they get a job.
    """

    name = "local"

    def __init__(
        self,
        *,
        env: dict[str, str] | None = None,
        warm_workers: int = 1,
        spare_log: Path | None = None,
    ) -> None:
        self.env = dict(os.environ if env is None else env)
        self.warm_workers = max(0, min(1, warm_workers))
        self.spare_log = spare_log
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._spare: subprocess.Popen[bytes] | None = None
        self._next_spare = 0.0
        self._lock = threading.Lock()

    # --- workers -----------------------------------------------------------------------

    def _command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "athanor.jobs.worker", *args]

    def start(self, launch: Launch) -> int:
        launch.log_path.parent.mkdir(parents=True, exist_ok=True)
        spare = None
        if not launch.devices:
            # A GPU job starts a fresh process: CUDA reads CUDA_VISIBLE_DEVICES once, when
            # first used, and nothing may have touched it before the job's GPUs are known.
            with self._lock:
                spare, self._spare = self._spare, None
        if spare is not None and spare.poll() is None and spare.stdin is not None:
            assignment = {
                "job": launch.job_id,
                "attempt": launch.attempt,
                "cpus": launch.cpus,
                "log": str(launch.log_path),
                "env": launch.worker_env(),
            }
            try:
                spare.stdin.write((json.dumps(assignment) + "\n").encode())
                spare.stdin.close()
            except OSError:  # it died meanwhile: start a fresh worker instead
                spare.kill()
            else:
                with self._lock:
                    self._children[spare.pid] = spare
                return spare.pid
        with open(launch.log_path, "ab") as log:
            process = subprocess.Popen(
                self._command(str(launch.job_id), "--attempt", str(launch.attempt)),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**self.env, **launch.worker_env()},
                start_new_session=True,
                close_fds=True,
            )
        with self._lock:
            self._children[process.pid] = process
        return process.pid

    def state(self, pid: int) -> WorkerState:
        with self._lock:
            child = self._children.get(pid)
        if child is not None:
            code = child.poll()
            if code is None:
                return WorkerState(alive=True)
            with self._lock:
                self._children.pop(pid, None)
            return WorkerState(alive=False, exit_code=code)
        return WorkerState(alive=_is_worker(pid))

    def signal(self, pid: int, signum: int) -> None:
        if self.state(pid).alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def reap(self) -> None:
        """Collect workers that have ended but that no job refers to any more."""
        with self._lock:
            children = list(self._children.items())
        for pid, child in children:
            if child.poll() is not None:
                with self._lock:
                    self._children.pop(pid, None)

    # --- the warm worker ---------------------------------------------------------------

    def prepare(self) -> None:
        """Start a warm worker when none is ready (not again at once if the last one died
        while it waited: its log, ``workers.log``, says why)."""
        if not self.warm_workers:
            return
        with self._lock:
            spare = self._spare
            if spare is not None:
                if spare.poll() is None:
                    return
                self._spare = None
                self._next_spare = time.monotonic() + SPARE_RETRY_SECONDS
            if time.monotonic() < self._next_spare:
                return
            log = self.spare_log
            if log is not None:
                log.parent.mkdir(parents=True, exist_ok=True)
            with open(log or os.devnull, "ab") as output:
                self._spare = subprocess.Popen(
                    self._command("--standby"),
                    stdin=subprocess.PIPE,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    env={**self.env, "PYTHONUNBUFFERED": "1"},
                    start_new_session=True,
                    close_fds=True,
                )

    def close(self) -> None:
        """Stop the warm worker (closing its input is its signal to exit)."""
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None:
            if spare.stdin is not None:
                with contextlib.suppress(OSError):
                    spare.stdin.close()
            try:
                spare.wait(timeout=5)
            except subprocess.TimeoutExpired:
                spare.kill()
                spare.wait()
