"""Where trials run: in this process, in worker processes, or as jobs of the platform.

A search hands each trial to an executor with :meth:`TrialExecutor.submit` and collects the
outcomes with :meth:`TrialExecutor.wait`. The executor decides where the trial trains; the
trial itself (:func:`athanor.tuning.trials.run_trial`) reports to the searches' database, so
any process that can open it can run trials.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
import signal
import sys
import time
from abc import ABC, abstractmethod
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol, runtime_checkable

from athanor.tuning.trials import TrialOutcome, TrialTask, run_trial


class TrialExecutor(ABC):
    """Runs trials and hands back their outcomes.

    ``slots`` is how many trials it runs at the same time; the search keeps that many
    submitted.
    """

    slots: int = 1

    @abstractmethod
    def submit(self, task: TrialTask, trial: Any) -> None:
        """Start ``task`` (``trial`` is the Optuna trial, for executors in this process)."""

    @abstractmethod
    def wait(self, timeout: float | None = None) -> list[TrialOutcome]:
        """Outcomes of trials that ended (at least one, unless ``timeout`` passes first)."""

    def interrupt(self) -> None:  # noqa: B027 - most executors' workers get Ctrl-C themselves
        """After Ctrl-C in the search's process: ask the running trials to stop with a
        checkpoint (worker processes of this terminal got the signal already)."""

    def close(self) -> None:  # noqa: B027 - executors without resources have nothing to do
        """Release workers; trials still running are abandoned (they are recovered later)."""


class InProcessExecutor(TrialExecutor):
    """One trial at a time, in this process (no start-up cost; Ctrl-C stops it cleanly)."""

    slots = 1

    def __init__(self) -> None:
        self._queue: list[tuple[TrialTask, Any]] = []

    def submit(self, task: TrialTask, trial: Any) -> None:
        self._queue.append((task, trial))

    def wait(self, timeout: float | None = None) -> list[TrialOutcome]:
        if not self._queue:
            return []
        task, trial = self._queue.pop(0)
        return [run_trial(task, trial)]


def _limit_threads(threads: int) -> None:
    """Worker start-up: share the cores, ignore Ctrl-C between trials (training handles it
    itself, stopping with a checkpoint), and die with the search's process."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ["MKL_NUM_THREADS"] = str(threads)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        import ctypes

        # PR_SET_PDEATHSIG: SIGTERM when the parent dies, which stops training cleanly
        with contextlib.suppress(OSError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    import importlib

    import torch

    torch.set_num_threads(threads)
    for module in WORKER_PRELOAD:
        importlib.import_module(module)


def _run_in_worker(task: TrialTask) -> TrialOutcome:
    return run_trial(task)


WORKER_PRELOAD = (
    "athanor.tuning.trials",
    "athanor.runs.pipeline",
    "athanor.data.catalog",
    "torch._dynamo",  # imported by the first optimizer step: seconds, paid before trials
)
"""Modules each worker imports when it starts, before its first trial."""


class ProcessExecutor(TrialExecutor):
    """``workers`` trials at the same time, each in its own spawned process, with the CPU
    threads divided between them.

    Args:
        workers: trials at once (``tune.parallel``).
        threads: torch threads per worker; default the cores divided by ``workers``.
    """

    def __init__(self, workers: int, threads: int | None = None) -> None:
        self.slots = workers
        threads = threads or max(1, (os.cpu_count() or 1) // workers)
        self._pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=workers,
            # spawned: a fresh interpreter that inherits no threads or open databases, and
            # whose parent is this process, so that it dies with it (PR_SET_PDEATHSIG)
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_limit_threads,
            initargs=(threads,),
        )
        self._futures: dict[concurrent.futures.Future[TrialOutcome], TrialTask] = {}

    def submit(self, task: TrialTask, trial: Any) -> None:
        self._futures[self._pool.submit(_run_in_worker, task)] = task

    def wait(self, timeout: float | None = None) -> list[TrialOutcome]:
        if not self._futures:
            return []
        done, _ = concurrent.futures.wait(
            self._futures, timeout=timeout, return_when=concurrent.futures.FIRST_COMPLETED
        )
        outcomes = []
        for future in done:
            task = self._futures.pop(future)
            try:
                outcomes.append(future.result())
            except BrokenProcessPool:
                outcomes.append(
                    TrialOutcome(
                        task.number,
                        task.trial_id,
                        "interrupted",
                        reason="its worker process died",
                        params=task.params,
                    )
                )
            except Exception as exc:  # reported as the trial's failure
                outcomes.append(
                    TrialOutcome(
                        task.number,
                        task.trial_id,
                        "failed",
                        reason=f"{type(exc).__name__}: {exc}",
                        params=task.params,
                    )
                )
        return outcomes

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


FINAL_JOB_STATUSES = frozenset({"succeeded", "failed", "cancelled"})


@runtime_checkable
class PlatformCalls(Protocol):
    """What :class:`JobQueueExecutor` needs of a platform client: one call per REST operation,
    by name (``submit_job``, ``get_job``, ``cancel_job``), returning the decoded JSON answer.

    ``athanor.server.client.PlatformClient`` is one; tuning does not import it, because the
    server sits above tuning in the layers.
    """

    def call(
        self,
        operation: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        **path: Any,
    ) -> Any:
        """Call ``operation`` with ``path`` values, query ``params`` and a JSON ``body``."""
        ...


class JobQueueExecutor(TrialExecutor):
    """Trials as jobs of the platform's queue: the platform places them on its CPUs and
    GPUs (each trial's ``job`` section says what it needs, as for any job), its workers
    report every epoch to the trial (and stop it when the pruner says so), and the jobs,
    their logs and live charts show in ``athanor jobs`` and the console.

    The platform's workers open the searches' database themselves, so the platform must
    reach it: the same Athanor home, or an ``ATHANOR_TUNE_DB_URL`` both use.

    Args:
        client: the platform's client (:class:`PlatformCalls`, e.g.
            ``athanor.server.client.PlatformClient``).
        slots: trials submitted at once (``tune.parallel``); the platform queues those it
            cannot place yet.
        poll_seconds: how often the jobs are looked at.
    """

    def __init__(self, client: PlatformCalls, slots: int = 1, *, poll_seconds: float = 1.0) -> None:
        self.client = client
        self.slots = max(1, slots)
        self.poll_seconds = poll_seconds
        self._jobs: dict[int, TrialTask] = {}

    def submit(self, task: TrialTask, trial: Any) -> None:
        from athanor.tuning.trials import job_trial_of

        job = self.client.call(
            "submit_job",
            body={
                "spec": task.spec,
                "filename": f"trial {task.number}",
                "trial": job_trial_of(task).model_dump(mode="json"),
            },
        )
        self._jobs[int(job["id"])] = task

    def wait(self, timeout: float | None = None) -> list[TrialOutcome]:
        from athanor.tuning.trials import outcome_of_job

        if not self._jobs:
            return []
        ends = None if timeout is None else time.monotonic() + timeout
        while True:
            outcomes = []
            for job_id, task in list(self._jobs.items()):
                job = self.client.call("get_job", job_id=job_id)
                if str(job.get("status")) in FINAL_JOB_STATUSES:
                    del self._jobs[job_id]
                    outcomes.append(outcome_of_job(task, job))
            if outcomes:
                return outcomes
            if ends is not None and time.monotonic() >= ends:
                return []
            time.sleep(self.poll_seconds)

    def close(self) -> None:
        """Cancel the trials' jobs still queued or running (each stops with a checkpoint);
        the search runs those trials again when it is continued."""
        for job_id in list(self._jobs):
            with contextlib.suppress(Exception):  # a job that ended meanwhile
                self.client.call("cancel_job", job_id=job_id)
        self._jobs.clear()
