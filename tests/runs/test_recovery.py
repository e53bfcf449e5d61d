"""Runs and jobs whose process is gone, corrected in a real SQLite store: the lifecycle's
decisions applied once, compare and set."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from athanor.runs import lifecycle
from athanor.runs.recovery import end_attempt, reconcile_orphans
from athanor.store import RunStatus, StopRequest, open_store


def job_spec(max_restarts: int = 0) -> dict:
    return {
        "name": "j",
        "data": {"dataset": "digits"},
        "job": {
            "resources": {"gpus": 0, "cpus": 1, "memory_gb": None},
            "priority": 0,
            "max_restarts": max_restarts,
            "stop_timeout": 5.0,
        },
    }


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _running(store, max_restarts: int = 0, pid: int | None = None):
    job = store.jobs.submit(job_spec(max_restarts), name="j", dataset="digits")
    pid = os.getpid() if pid is None else pid
    store.jobs.place(job.id, pid=pid, host=socket.gethostname(), devices=[])
    store.runs.update(job.id, status=RunStatus.RUNNING, pid=pid, host=socket.gethostname())
    return job.id, pid


def test_a_dead_worker_requeues_its_job_while_restarts_remain_then_fails_it() -> None:
    store = open_store()
    job_id, pid = _running(store, max_restarts=1)
    store.runs.update(job_id, summary={"checkpoint": {"step": 40, "epoch": 1}})
    ended = end_attempt(store, job_id, pid=pid, how="was killed by SIGKILL", exit_code=-9)
    assert ended is not None and ended.status == RunStatus.QUEUED and ended.restarts == 1
    assert "was killed by SIGKILL; restart 1 of 1 resumes from its checkpoint at step 40" in (
        ended.run.status_reason
    )
    assert ended.worker_pid is None and ended.attempts[-1]["exit_code"] == -9
    assert end_attempt(store, job_id, pid=pid, how="again") is None  # handled once
    store.jobs.place(job_id, pid=pid, host=socket.gethostname(), devices=[])
    store.jobs.claim(job_id, lifecycle.started(40))
    failed = end_attempt(store, job_id, pid=pid, how="is gone", checkpoint_step=80)
    assert failed is not None and failed.status == RunStatus.FAILED
    assert "no restarts left (job.max_restarts=1)" in failed.run.status_reason
    assert f"'athanor runs resume {job_id}' continues it from its checkpoint at step 80" in (
        failed.run.status_reason
    )
    assert [a["attempt"] for a in failed.attempts] == [1, 2]


def test_a_killed_stopping_worker_ends_as_it_was_asked() -> None:
    store = open_store()
    cancelled_id, pid = _running(store, max_restarts=5)
    store.jobs.request_stop(cancelled_id, StopRequest.CANCEL, "cancelled by me")
    ended = end_attempt(store, cancelled_id, pid=pid, how="was killed by SIGKILL")
    assert ended.status == RunStatus.CANCELLED and ended.restarts == 0
    assert ended.run.status_reason.startswith("cancelled by me; its worker")
    preempted_id, pid = _running(store)
    store.jobs.request_stop(preempted_id, StopRequest.PREEMPT, "preempted: shutdown")
    ended = end_attempt(store, preempted_id, pid=pid, how="was killed by SIGKILL")
    assert ended.status == RunStatus.QUEUED and ended.stop_request is None
    assert "preempted: shutdown" in ended.run.status_reason


def test_the_restart_policy_is_the_callers() -> None:
    store = open_store()
    job_id, pid = _running(store, max_restarts=5)
    never = lifecycle.restart_up_to(0)
    ended = end_attempt(store, job_id, pid=pid, how="was killed by SIGKILL", policy=never)
    assert ended.status == RunStatus.FAILED and ended.restarts == 0
    assert "no restarts left (max_restarts=0)" in ended.run.status_reason


def test_a_worker_that_recorded_the_outcome_is_only_released() -> None:
    store = open_store()
    job_id, pid = _running(store, max_restarts=3)
    store.runs.finish(job_id, RunStatus.SUCCEEDED, "completed 2 epoch(s)")
    ended = end_attempt(store, job_id, pid=pid, how="exited with status 0", exit_code=0)
    assert ended.status == RunStatus.SUCCEEDED and ended.restarts == 0
    assert ended.run.status_reason == "completed 2 epoch(s)" and ended.worker_pid is None
    assert end_attempt(store, 999, pid=pid, how="is gone") is None


def test_a_run_whose_process_died_is_marked_failed() -> None:
    store = open_store()
    pid = dead_pid()
    dead = store.runs.create({}, name="dead")
    store.runs.update(dead.id, pid=pid)
    alive = store.runs.create({}, name="alive")  # this very process
    assert reconcile_orphans(store) == [dead.id]
    record = store.runs.get(dead.id)
    assert record.status == RunStatus.FAILED
    assert f"pid {pid}" in record.status_reason and "ended without finishing" in (
        record.status_reason
    )
    assert store.runs.get(alive.id).status == RunStatus.RUNNING
    assert reconcile_orphans(store) == []


def test_listing_runs_hands_a_dead_job_worker_to_the_job_rules() -> None:
    store = open_store()
    pid = dead_pid()
    job_id, _ = _running(store, max_restarts=1, pid=pid)
    plain = store.runs.create({}, name="fg")
    store.runs.update(plain.id, pid=pid)
    assert sorted(reconcile_orphans(store)) == sorted([job_id, plain.id])
    assert store.runs.get(plain.id).status == RunStatus.FAILED
    requeued = store.jobs.get(job_id)
    assert requeued.status == RunStatus.QUEUED and requeued.restarts == 1
