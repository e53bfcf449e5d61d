"""Jobs in a real SQLite store: queue order, claims, stops and the end of attempts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from athanor.errors import Conflict, NotFound
from athanor.store import MetricPoint, RunStatus, StopRequest, open_store


def job_spec(priority: int = 0, max_restarts: int = 0, cpus: int = 1) -> dict:
    return {
        "name": "j",
        "data": {"dataset": "digits"},
        "job": {
            "resources": {"gpus": 0, "cpus": cpus, "memory_gb": None},
            "priority": priority,
            "max_restarts": max_restarts,
            "stop_timeout": 5.0,
        },
    }


def submit(store, **options):
    return store.jobs.submit(job_spec(**options), name="j", dataset="digits", submitted_by="t")


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_submit_creates_a_queued_run_and_its_job_in_one_go() -> None:
    store = open_store()
    job = submit(store, priority=3, max_restarts=2, cpus=2)
    assert job.status == RunStatus.QUEUED and job.run.pid is None and job.run.started_at is None
    assert (job.priority, job.max_restarts, job.cpus, job.gpus) == (3, 2, 2, 0)
    assert store.runs.get(job.id).status == RunStatus.QUEUED
    assert store.jobs.get(job.id).submitted_by == "t"
    foreground = store.runs.create({}, name="fg")
    with pytest.raises(NotFound, match="trained in the foreground"):
        store.jobs.get(foreground.id)
    with pytest.raises(NotFound, match="job 999 does not exist"):
        store.jobs.get(999)


def test_queue_is_by_priority_then_first_in_first_out_and_skips_placed_jobs() -> None:
    store = open_store()
    low, high, low2, high2 = (submit(store, priority=p).id for p in (0, 5, 0, 5))
    assert [j.id for j in store.jobs.queue()] == [high, high2, low, low2]
    store.jobs.place(high, pid=os.getpid(), host=socket.gethostname(), devices=[1])
    assert [j.id for j in store.jobs.queue()] == [high2, low, low2]
    placed = store.jobs.placed()
    assert [(j.id, j.devices, j.attempt) for j in placed] == [(high, [1], 1)]
    assert store.jobs.get(high).attempts[0]["pid"] == os.getpid()


def test_only_one_worker_claims_a_job() -> None:
    store = open_store()
    job = submit(store)
    first = store.jobs.claim(job.id, "started")
    assert first is not None and first.status == RunStatus.RUNNING and first.pid == os.getpid()
    assert store.jobs.claim(job.id, "started") is None
    assert store.jobs.get(job.id).worker_pid == os.getpid()
    assert store.jobs.heartbeat(job.id, os.getpid())
    assert not store.jobs.heartbeat(job.id, os.getpid() + 1)


def test_cancel_ends_a_queued_job_at_once_and_asks_a_running_one_to_stop() -> None:
    store = open_store()
    queued, running = submit(store), submit(store)
    cancelled = store.jobs.request_stop(queued.id, StopRequest.CANCEL, "cancelled by me")
    assert cancelled.status == RunStatus.CANCELLED
    assert cancelled.run.status_reason == "cancelled by me while queued"
    with pytest.raises(Conflict, match="already cancelled"):
        store.jobs.request_stop(queued.id, StopRequest.CANCEL, "again")
    store.jobs.place(running.id, pid=os.getpid(), host=socket.gethostname(), devices=[])
    store.jobs.claim(running.id, "started")
    asked = store.jobs.request_stop(running.id, StopRequest.CANCEL, "cancelled by me")
    assert asked.status == RunStatus.RUNNING and asked.stop_request == StopRequest.CANCEL
    # A preemption never replaces a user's cancellation.
    store.jobs.request_stop(running.id, StopRequest.PREEMPT, "shutting down")
    assert store.jobs.get(running.id).stop_request == StopRequest.CANCEL


def _running(store, **options):
    job = submit(store, **options)
    pid = os.getpid()
    store.jobs.place(job.id, pid=pid, host=socket.gethostname(), devices=[])
    store.jobs.claim(job.id, "started")
    return job.id, pid


def test_a_dead_worker_requeues_its_job_while_restarts_remain_then_fails_it() -> None:
    store = open_store()
    job_id, pid = _running(store, max_restarts=1)
    store.runs.update(job_id, summary={"checkpoint": {"step": 40, "epoch": 1}})
    ended = store.jobs.end_attempt(job_id, pid=pid, how="was killed by SIGKILL", exit_code=-9)
    assert ended is not None and ended.status == RunStatus.QUEUED and ended.restarts == 1
    assert "was killed by SIGKILL; restart 1 of 1 resumes from its checkpoint at step 40" in (
        ended.run.status_reason
    )
    assert ended.worker_pid is None and ended.attempts[-1]["exit_code"] == -9
    assert store.jobs.end_attempt(job_id, pid=pid, how="again") is None  # handled once
    store.jobs.place(job_id, pid=pid, host=socket.gethostname(), devices=[])
    store.jobs.claim(job_id, "resumed")
    failed = store.jobs.end_attempt(job_id, pid=pid, how="is gone", checkpoint_step=80)
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
    ended = store.jobs.end_attempt(cancelled_id, pid=pid, how="was killed by SIGKILL")
    assert ended.status == RunStatus.CANCELLED and ended.restarts == 0
    assert ended.run.status_reason.startswith("cancelled by me; its worker")
    preempted_id, pid = _running(store)
    store.jobs.request_stop(preempted_id, StopRequest.PREEMPT, "preempted: shutdown")
    ended = store.jobs.end_attempt(preempted_id, pid=pid, how="was killed by SIGKILL")
    assert ended.status == RunStatus.QUEUED and ended.stop_request is None
    assert "preempted: shutdown" in ended.run.status_reason


def test_a_worker_that_recorded_the_outcome_is_only_released() -> None:
    store = open_store()
    job_id, pid = _running(store, max_restarts=3)
    store.runs.finish(job_id, RunStatus.SUCCEEDED, "completed 2 epoch(s)")
    ended = store.jobs.end_attempt(job_id, pid=pid, how="exited with status 0", exit_code=0)
    assert ended.status == RunStatus.SUCCEEDED and ended.restarts == 0
    assert ended.run.status_reason == "completed 2 epoch(s)" and ended.worker_pid is None


def test_listing_runs_hands_a_dead_job_worker_to_the_job_rules() -> None:
    store = open_store()
    job = submit(store, max_restarts=1)
    plain = store.runs.create({}, name="fg")
    pid = dead_pid()
    store.jobs.place(job.id, pid=pid, host=socket.gethostname(), devices=[])
    store.runs.update(job.id, status=RunStatus.RUNNING, pid=pid, host=socket.gethostname())
    store.runs.update(plain.id, pid=pid)
    assert sorted(store.runs.reconcile_orphans()) == sorted([job.id, plain.id])
    assert store.runs.get(plain.id).status == RunStatus.FAILED
    requeued = store.jobs.get(job.id)
    assert requeued.status == RunStatus.QUEUED and requeued.restarts == 1


def test_progress_and_wait_reasons_are_stored() -> None:
    store = open_store()
    job = submit(store)
    store.jobs.set_progress(job.id, {"step": 10, "eta_seconds": 3.5})
    store.jobs.set_wait_reasons({job.id: "waiting for 1 CPU slot"})
    again = store.jobs.get(job.id)
    assert again.progress == {"step": 10, "eta_seconds": 3.5}
    assert again.wait_reason == "waiting for 1 CPU slot"


def test_last_logged_steps_per_metric() -> None:
    store = open_store()
    run = store.runs.create({}, name="m")
    store.runs.log_metrics(
        run.id,
        [
            MetricPoint("loss", 5, 1, 0.5, 0.0),
            MetricPoint("loss", 9, 1, 0.4, 0.0),
            MetricPoint("val_loss", 7, 1, 0.6, 0.0),
        ],
    )
    assert store.runs.last_logged_steps(run.id) == {"loss": 9, "val_loss": 7}
