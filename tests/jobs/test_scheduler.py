"""The scheduler on a real store with real worker processes: it starts what fits, says why
the rest waits, delivers stops, and hands dead or silent workers to the restart policy it
was given."""

from __future__ import annotations

import os
import re
import signal
import socket
import time
from pathlib import Path

import pytest

from athanor.jobs.executor import LocalExecutor
from athanor.jobs.logs import log_path
from athanor.jobs.machine import Machine
from athanor.jobs.scheduler import Scheduler
from athanor.runs import lifecycle
from athanor.spec import load_spec
from athanor.store import RunStatus, StopRequest, open_store

ONE_CPU = Machine(host=socket.gethostname(), gpus=(), cpus=1, memory_gb=None)


def submit(store, epochs: int = 2, **job: object) -> int:
    spec = load_spec(
        {
            "name": "s",
            "seed": 3,
            "data": {"dataset": "iris", "split": {"val": 0.2, "test": 0.2}},
            "model": {"template": "mlp", "hidden": [8]},
            "train": {"epochs": epochs, "batch_size": 4, "checkpoint": {"every_steps": 5}},
            "job": {"stop_timeout": 20.0, **job},
        }
    )
    return store.jobs.submit(spec.model_dump(mode="json"), name="s", dataset="iris").id


def passes_until(scheduler: Scheduler, condition, timeout: float, what: str, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        scheduler.run_once()
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def ended(store, job_id: int):
    job = store.jobs.get(job_id)
    return job if job.status.final and job.worker_pid is None else None


def test_jobs_take_the_free_slot_in_turn_and_the_waiting_one_says_why() -> None:
    store = open_store()
    first, second = submit(store), submit(store)
    executor = LocalExecutor(warm_workers=1, spare_log=store.settings.home / "workers.log")
    scheduler = Scheduler(store, ONE_CPU, executor)
    try:
        scheduler.run_once()
        placed = store.jobs.get(first)
        assert placed.worker_pid is not None and placed.attempt == 1
        assert placed.run.status_reason in (
            f"starting attempt 1 (worker pid {placed.worker_pid})",
            "started",  # it claimed the run before the scheduler recorded the attempt
        )
        waiting = store.jobs.get(second)
        assert waiting.worker_pid is None and waiting.status == RunStatus.QUEUED
        assert waiting.wait_reason == "waiting for 1 CPU slot (0 of 1 free)"
        done = [
            passes_until(scheduler, lambda j=j: ended(store, j), 300, f"job {j}")
            for j in (
                first,
                second,
            )
        ]
    finally:
        scheduler.shutdown()
    for job in done:
        assert job.status == RunStatus.SUCCEEDED, job.run.status_reason
        assert job.attempts[-1]["outcome"] == "succeeded" and job.attempts[-1]["exit_code"] == 0
    assert done[1].attempts[0]["started_at"] > done[0].attempts[0]["started_at"]


@pytest.mark.usefixtures("backend")
def test_a_killed_worker_is_judged_by_the_restart_policy_the_scheduler_was_given() -> None:
    store = open_store()
    job_id = submit(store, max_restarts=3)
    never = lifecycle.restart_up_to(0)
    executor = LocalExecutor(warm_workers=0)
    scheduler = Scheduler(store, ONE_CPU, executor, restart_policy=never)
    scheduler.run_once()
    pid = store.jobs.get(job_id).worker_pid
    assert pid is not None
    executor.signal(pid, signal.SIGKILL)
    job = passes_until(scheduler, lambda: ended(store, job_id), 30, "the job to fail")
    assert job.status == RunStatus.FAILED and job.restarts == 0
    assert job.run.status_reason.startswith(
        f"its worker (pid {pid} on {ONE_CPU.host}) was killed by SIGKILL; "
        "no restarts left (max_restarts=0); "
    )
    assert job.attempts[-1]["exit_code"] == -signal.SIGKILL


@pytest.mark.usefixtures("backend")
def test_a_worker_that_never_beats_is_killed_and_restarted_while_the_job_allows(
    tmp_path: Path,
) -> None:
    # Workers whose interpreter hangs at start-up, before anything of Athanor runs (as on a
    # stalled network file system): a site hook that sleeps. However fast the machine, they
    # never beat.
    hook = tmp_path / "hanging-start"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text("import time\ntime.sleep(600)\n", "utf-8")
    path = os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    store = open_store()
    job_id = submit(store, max_restarts=1)
    executor = LocalExecutor(warm_workers=0, env=env)
    scheduler = Scheduler(store, ONE_CPU, executor, start_timeout=0.2)
    silent = r"sent no heartbeat in the \d+ s since it was started and was killed"
    silent += r" \(start timeout 0.2 s\)"
    restarted = passes_until(
        scheduler,
        lambda: (job := store.jobs.get(job_id)).restarts == 1 and job,
        30,
        "the first restart",
        every=0.3,
    )
    first = restarted.attempts[0]  # the same pass placed the next attempt: its reason is there
    assert first["outcome"] == "queued" and first["reason"].startswith("its worker (pid ")
    assert re.search(f"{silent}; restart 1 of 1 resumes from the start", first["reason"])
    job = passes_until(scheduler, lambda: ended(store, job_id), 30, "the job to fail", every=0.3)
    assert job.status == RunStatus.FAILED and job.restarts == 1 and len(job.attempts) == 2
    assert re.search(rf"{silent}; no restarts left \(job.max_restarts=1\)", job.run.status_reason)
    assert all(attempt["exit_code"] == -signal.SIGKILL for attempt in job.attempts)


@pytest.mark.usefixtures("backend")
def test_a_worker_that_falls_silent_is_killed_by_the_heartbeat_timeout() -> None:
    store = open_store()
    job_id = submit(store, epochs=500)
    scheduler = Scheduler(store, ONE_CPU, LocalExecutor(warm_workers=0), heartbeat_timeout=1.5)
    beating = passes_until(
        scheduler,
        lambda: (job := store.jobs.get(job_id)).heartbeat_at is not None and job,
        120,
        "the worker's first heartbeat",
    )
    os.kill(beating.worker_pid, signal.SIGSTOP)  # alive, and silent
    job = passes_until(scheduler, lambda: ended(store, job_id), 30, "the job to fail")
    assert job.status == RunStatus.FAILED and job.attempts[-1]["exit_code"] == -signal.SIGKILL
    assert re.search(
        r"sent no heartbeat for \d+ s and was killed \(job.heartbeat_timeout 1.5 s\); "
        r"no restarts left \(job.max_restarts=0\)",
        job.run.status_reason,
    )


@pytest.mark.usefixtures("backend")
def test_a_cancelled_job_gets_sigterm_and_ends_cancelled() -> None:
    store = open_store()
    job_id = submit(store, max_restarts=2)
    scheduler = Scheduler(store, ONE_CPU, LocalExecutor(warm_workers=0))
    scheduler.run_once()
    pid = store.jobs.get(job_id).worker_pid
    store.jobs.request_stop(job_id, StopRequest.CANCEL, "cancelled by me")
    scheduler.run_once()
    assert store.jobs.get(job_id).stop_signalled_at is not None
    job = passes_until(scheduler, lambda: ended(store, job_id), 60, "the job to end")
    # SIGTERM before the worker could checkpoint: it ends as asked, never restarted
    assert job.status == RunStatus.CANCELLED and job.restarts == 0
    assert job.run.status_reason.startswith(f"cancelled by me; its worker (pid {pid} on ")
    assert job.run.status_reason.endswith("was killed by SIGTERM")


@pytest.mark.usefixtures("backend")
def test_a_job_whose_worker_cannot_start_fails_saying_why() -> None:
    store = open_store()
    job_id = submit(store)
    log_path(store.artifacts, job_id).mkdir(parents=True)  # the log cannot be opened
    scheduler = Scheduler(store, ONE_CPU, LocalExecutor(warm_workers=0))
    scheduler.run_once()
    job = store.jobs.get(job_id)
    assert job.status == RunStatus.FAILED and job.worker_pid is None
    assert job.run.status_reason.startswith("could not start a worker process: [Errno 21]")


def test_shutdown_preempts_a_running_job_back_to_the_queue() -> None:
    store = open_store()
    job_id = submit(store, epochs=500)
    scheduler = Scheduler(store, ONE_CPU, LocalExecutor(warm_workers=0))
    passes_until(
        scheduler,
        lambda: store.jobs.get(job_id).progress.get("step", 0) >= 10,
        300,
        "the job to train a few steps",
    )
    scheduler.shutdown(reason="the test is over")
    job = store.jobs.get(job_id)
    assert job.status == RunStatus.QUEUED and job.worker_pid is None
    assert job.run.status_reason.startswith("preempted: the test is over: stopped at step ")
    assert job.run.status_reason.endswith("; it resumes from there")
    assert job.attempts[-1]["outcome"] == "queued" and job.restarts == 0
