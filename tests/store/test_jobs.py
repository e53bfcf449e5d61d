"""Jobs in a real SQLite store: queue order, claims, stops and the end of attempts, each a
compare and set (the changes themselves come from :mod:`athanor.runs.lifecycle`)."""

from __future__ import annotations

import os
import socket

import pytest

from athanor.errors import Conflict, NotFound
from athanor.store import (
    Lease,
    MetricPoint,
    RunStatus,
    StatusChange,
    StopRequest,
    open_store,
)

pytestmark = pytest.mark.usefixtures("backend")

QUEUED, RUNNING = frozenset({RunStatus.QUEUED}), frozenset({RunStatus.RUNNING})
START = StatusChange(RunStatus.RUNNING, "started", QUEUED)


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
    first = store.jobs.claim(job.id, START)
    assert first is not None and first.status == RunStatus.RUNNING and first.pid == os.getpid()
    assert first.status_reason == "started"
    assert store.jobs.claim(job.id, START) is None
    assert store.jobs.get(job.id).worker_pid == os.getpid()
    assert store.jobs.heartbeat(job.id, os.getpid())
    assert not store.jobs.heartbeat(job.id, os.getpid() + 1)


def test_cancel_ends_a_queued_job_at_once_and_asks_a_running_one_to_stop() -> None:
    store = open_store()
    queued, running = submit(store), submit(store)
    now = StatusChange(RunStatus.CANCELLED, "cancelled by me while queued", QUEUED)
    cancelled = store.jobs.request_stop(
        queued.id, StopRequest.CANCEL, "cancelled by me", unplaced=now
    )
    assert cancelled.status == RunStatus.CANCELLED and cancelled.run.finished_at is not None
    assert cancelled.run.status_reason == "cancelled by me while queued"
    with pytest.raises(Conflict, match="already cancelled"):
        store.jobs.request_stop(queued.id, StopRequest.CANCEL, "again")
    store.jobs.place(running.id, pid=os.getpid(), host=socket.gethostname(), devices=[])
    store.jobs.claim(running.id, START)
    asked = store.jobs.request_stop(running.id, StopRequest.CANCEL, "cancelled by me")
    assert asked.status == RunStatus.RUNNING and asked.stop_request == StopRequest.CANCEL
    # A preemption never replaces a user's cancellation.
    store.jobs.request_stop(running.id, StopRequest.PREEMPT, "shutting down")
    assert store.jobs.get(running.id).stop_request == StopRequest.CANCEL


def _running(store, **options):
    job = submit(store, **options)
    pid = os.getpid()
    store.jobs.place(job.id, pid=pid, host=socket.gethostname(), devices=[])
    store.jobs.claim(job.id, START)
    return job.id, pid


def test_place_records_the_attempt_and_applies_its_reason_only_while_queued() -> None:
    store = open_store()
    job = submit(store)
    starting = StatusChange(RunStatus.QUEUED, "starting attempt 1 (worker pid 7)", QUEUED)
    placed = store.jobs.place(job.id, pid=7, host="h", devices=[0], starting=starting)
    assert placed.run.status_reason == "starting attempt 1 (worker pid 7)"
    assert (placed.attempt, placed.lease.pid, placed.lease.host) == (1, 7, "h")
    assert placed.lease.heartbeat_at == placed.placed_at  # silent since it was placed
    store.jobs.end_attempt(job.id, pid=7, change=None)
    # a warm worker (pid 8 on h) claimed it before its scheduler placed it
    store.jobs.claim(job.id, START, owner=Lease(8, "h"))
    again = store.jobs.place(
        job.id, pid=8, host="h", devices=[], starting=StatusChange(RunStatus.QUEUED, "x", QUEUED)
    )
    assert again.status == RunStatus.RUNNING and again.run.status_reason == "started"


def test_end_attempt_applies_a_change_only_to_the_job_as_its_caller_saw_it() -> None:
    store = open_store()
    job_id, pid = _running(store, max_restarts=1)
    requeue = StatusChange(RunStatus.QUEUED, "lost; restart 1 of 1", RUNNING)
    # another worker holds it, the run is not running, or a stop was asked meanwhile: no
    assert store.jobs.end_attempt(job_id, pid=pid + 1, change=requeue) is None
    wrong = StatusChange(RunStatus.QUEUED, "lost", QUEUED)
    assert store.jobs.end_attempt(job_id, pid=pid, change=wrong) is None
    store.jobs.request_stop(job_id, StopRequest.CANCEL, "cancelled by me")
    assert store.jobs.end_attempt(job_id, pid=pid, change=requeue) is None
    assert store.jobs.get(job_id).worker_pid == pid  # nothing changed
    ended = store.jobs.end_attempt(
        job_id,
        pid=pid,
        change=requeue,
        stop_request=StopRequest.CANCEL,
        restart=True,
        exit_code=-9,
    )
    assert ended is not None and ended.status == RunStatus.QUEUED and ended.restarts == 1
    assert ended.run.status_reason == "lost; restart 1 of 1" and ended.run.finished_at is None
    assert ended.worker_pid is None and ended.stop_request is None and not ended.lease.held
    assert ended.attempts[-1]["exit_code"] == -9
    assert ended.attempts[-1]["outcome"] == "queued"
    assert store.jobs.end_attempt(job_id, pid=pid, change=None) is None  # released once


def test_a_worker_that_recorded_the_outcome_is_only_released() -> None:
    store = open_store()
    job_id, pid = _running(store, max_restarts=3)
    store.runs.finish(job_id, RunStatus.SUCCEEDED, "completed 2 epoch(s)")
    ended = store.jobs.end_attempt(job_id, pid=pid, change=None, exit_code=0)
    assert ended.status == RunStatus.SUCCEEDED and ended.restarts == 0
    assert ended.run.status_reason == "completed 2 epoch(s)" and ended.worker_pid is None


def test_resume_queues_a_finished_job_again_only_from_the_expected_statuses() -> None:
    store = open_store()
    job_id, pid = _running(store)
    ended = StatusChange(RunStatus.FAILED, "boom", RUNNING)
    again = StatusChange(
        RunStatus.QUEUED, "resumed by me", frozenset({RunStatus.FAILED, RunStatus.CANCELLED})
    )
    with pytest.raises(Conflict, match=f"job {job_id} is running"):
        store.jobs.resume(job_id, again)
    store.runs.transition(job_id, ended)
    with pytest.raises(Conflict, match="has not exited yet"):
        store.jobs.resume(job_id, again)
    store.jobs.end_attempt(job_id, pid=pid, change=None)
    resumed = store.jobs.resume(job_id, again)
    assert resumed.status == RunStatus.QUEUED and resumed.run.status_reason == "resumed by me"
    assert resumed.run.finished_at is None
    with pytest.raises(NotFound):
        store.jobs.resume(999, again)


def test_a_claim_records_the_given_lease() -> None:
    store = open_store()
    job = submit(store)
    owner = Lease(4242, "elsewhere")
    run = store.jobs.claim(job.id, START, owner)
    assert run is not None and (run.pid, run.host) == (4242, "elsewhere")
    held = store.jobs.get(job.id)
    assert (held.worker_pid, held.worker_host) == (4242, "elsewhere")
    assert run.heartbeat_at is not None and run.lease.heartbeat_at == run.heartbeat_at


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


def test_one_machine_reserves_a_queued_job_and_another_cannot_place_it() -> None:
    store = open_store()
    job = submit(store)
    assert store.jobs.reserve(job.id, "box-a")
    assert store.jobs.reserve(job.id, "box-a")  # its own reservation, again
    assert not store.jobs.reserve(job.id, "box-b")
    with pytest.raises(Conflict, match=f"job {job.id} was placed on box-a meanwhile"):
        store.jobs.place(job.id, pid=4242, host="box-b", devices=[])
    placed = store.jobs.place(job.id, pid=4242, host="box-a", devices=[])
    assert (placed.worker_host, placed.worker_pid, placed.attempt) == ("box-a", 4242, 1)
    assert not store.jobs.reserve(job.id, "box-a")  # placed: nothing to reserve any more


def test_a_reservation_lapses_when_no_worker_followed_it() -> None:
    store = open_store()
    job = submit(store)
    assert store.jobs.reserve(job.id, "box-a")
    assert not store.jobs.reserve(job.id, "box-b", hold_seconds=60)
    assert store.jobs.reserve(job.id, "box-b", hold_seconds=0)  # box-a's scheduler died
    assert store.jobs.get(job.id).worker_host == "box-b"
    cancelled = store.jobs.request_stop(
        job.id,
        StopRequest.CANCEL,
        "no",
        unplaced=StatusChange(RunStatus.CANCELLED, "cancelled", QUEUED),
    )
    assert cancelled.status == RunStatus.CANCELLED
    assert not store.jobs.reserve(job.id, "box-b", hold_seconds=0)  # no longer queued


def test_a_heartbeat_names_its_machine_because_pids_repeat_across_machines() -> None:
    store = open_store()
    job = submit(store)
    store.jobs.place(job.id, pid=77, host="box-a", devices=[])
    assert store.jobs.heartbeat(job.id, 77, "box-a")
    assert not store.jobs.heartbeat(job.id, 77, "box-b")
    assert store.jobs.heartbeat(job.id, 77)  # without a machine: the pid alone
