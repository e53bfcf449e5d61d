"""Schedulers of several machines sharing one store (team mode): each job runs once, on
one machine, and a machine that falls silent loses its jobs to the others, which resume
them from their checkpoints. The machines are named (as ``athanor worker --name`` names
them); their workers are real processes."""

from __future__ import annotations

import os
import re
import signal
import time

import pytest

from athanor.jobs.executor import LocalExecutor
from athanor.jobs.machine import Machine
from athanor.jobs.scheduler import Scheduler
from athanor.store import RunStatus, open_store
from tests.jobs.test_scheduler import ended, submit

pytestmark = pytest.mark.usefixtures("backend")


def machine(name: str) -> Machine:
    return Machine(host=name, gpus=(), cpus=1, memory_gb=None)


def passes_until(schedulers, condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for scheduler in schedulers:
            scheduler.run_once()
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def test_two_machines_share_the_queue_and_each_job_runs_once() -> None:
    store = open_store()
    jobs = [submit(store), submit(store)]
    boxes = [
        Scheduler(store, machine(name), LocalExecutor(warm_workers=0))
        for name in ("box-a", "box-b")
    ]
    try:
        # one slot each: both jobs start in the first round, one on each machine
        passes_until(boxes, lambda: all(store.jobs.get(j).placed for j in jobs), 30, "placing")
        assert {store.jobs.get(j).worker_host for j in jobs} == {"box-a", "box-b"}
        done = [passes_until(boxes, lambda j=j: ended(store, j), 300, f"job {j}") for j in jobs]
    finally:
        for box in boxes:
            box.shutdown()
    for job in done:
        assert job.status == RunStatus.SUCCEEDED, job.run.status_reason
        assert job.attempt == 1 and len(job.attempts) == 1
        # the worker held the job under its machine's name, not the host's own
        assert job.run.lease.host == job.attempts[0]["host"]


def test_a_silent_machine_loses_its_job_to_another_which_resumes_it() -> None:
    store = open_store()
    job_id = submit(store, epochs=8, max_restarts=1)
    lost = Scheduler(store, machine("box-lost"), LocalExecutor(warm_workers=0))
    other = Scheduler(
        store, machine("box-other"), LocalExecutor(warm_workers=0), heartbeat_timeout=2.0
    )
    try:
        passes_until(
            [lost],
            lambda: store.jobs.get(job_id).checkpoint_step,
            120,
            "a checkpoint on box-lost",
        )
        pid = store.jobs.get(job_id).worker_pid
        os.kill(pid, signal.SIGKILL)  # the machine is gone: its worker beats no more
        requeued = passes_until(
            [other],
            lambda: (job := store.jobs.get(job_id)).worker_host == "box-other" and job,
            60,
            "box-other to take the job",
        )
        assert re.search(
            r"its worker \(pid \d+ on box-lost\) sent no heartbeat for \d+ s and was taken for "
            r"lost \(job.heartbeat_timeout 2 s\)",
            requeued.attempts[0]["reason"],
        ), requeued.attempts[0]
        resumes = "restart 1 of 1 resumes from its checkpoint at step"
        assert resumes in requeued.attempts[0]["reason"]
        done = passes_until([other, lost], lambda: ended(store, job_id), 300, "the job to end")
    finally:
        other.shutdown()
        lost.shutdown()
    assert done.status == RunStatus.SUCCEEDED, done.run.status_reason
    assert [a["host"] for a in done.attempts] == ["box-lost", "box-other"]
