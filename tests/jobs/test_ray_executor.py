"""The Ray executor on a real local Ray cluster (``ray start --head`` on 127.0.0.1, 2 CPUs, no
dashboard), started once for the module: jobs run there through the scheduler, a cancel ends
a job cancelled at a checkpoint, and a killed actor or worker is restarted by the scheduler
and resumes from its checkpoint.

Skipped where Ray is not installed (``pip install athanor[ray]``); CI
(``ATHANOR_REQUIRE_RAY``) fails instead.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from athanor.errors import UserError
from athanor.jobs.logs import log_path
from athanor.jobs.scheduler import Scheduler
from athanor.jobs.submission import check_job_spec
from athanor.spec import load_spec
from athanor.store import RunStatus, StopRequest, open_store

from .test_scheduler import ended, passes_until, submit

try:
    import ray
except ImportError:  # pragma: no cover - the skip below says so
    ray = None

from athanor.jobs.ray_executor import NAMESPACE, RayExecutor, actor_name, cluster_host


@pytest.fixture
def executor(ray_cluster: str) -> Iterator[RayExecutor]:
    executor = RayExecutor(address=ray_cluster)
    yield executor
    executor.close()


def test_a_job_runs_on_the_cluster_with_its_log_and_heartbeat(executor: RayExecutor) -> None:
    machine = executor.machine()
    assert machine.cpus == 2 and machine.gpus == () and machine.host == cluster_host()
    assert [(node.cpus, node.gpus) for node in machine.nodes] == [(2, 0)]  # one node
    greedy = {"name": "g", "data": {"dataset": "iris"}, "model": {"template": "mlp"}}
    greedy["job"] = {"resources": {"cpus": 3}}
    with pytest.raises(UserError, match="CPU"):  # more than the whole cluster has
        check_job_spec(load_spec(greedy), machine)
    store = open_store()
    job_id = submit(store)
    scheduler = Scheduler(store, machine, executor)
    try:
        scheduler.run_once()
        placed = store.jobs.get(job_id)
        worker = placed.worker_pid
        assert worker == job_id * 1000 + 1 and placed.worker_host == machine.host
        assert ray.get_actor(actor_name(worker), namespace=NAMESPACE) is not None
        # the worker holds the job under its id and the cluster's name: its heartbeats count
        passes_until(scheduler, lambda: store.jobs.get(job_id).heartbeat_at, 60, "a heartbeat")
        job = passes_until(scheduler, lambda: ended(store, job_id), 120, "the job to end")
    finally:
        scheduler.shutdown()
    assert job.status == RunStatus.SUCCEEDED, job.run.status_reason
    assert job.attempts[-1]["exit_code"] == 0
    log = log_path(store.artifacts, job_id).read_text()
    assert f"job {job_id} attempt 1: worker pid " in log
    assert f"on {machine.host}; GPUs: none" in log and "succeeded" in log
    with pytest.raises(ValueError):  # its actor ended with it, giving its CPU back
        ray.get_actor(actor_name(worker), namespace=NAMESPACE)


def test_a_restarted_platform_finds_the_actor_by_name_and_its_cancel_stops_at_a_checkpoint(
    executor: RayExecutor, ray_cluster: str
) -> None:
    store = open_store()
    job_id = submit(store, epochs=500, max_restarts=1)
    machine = executor.machine()
    passes_until(
        Scheduler(store, machine, executor),
        lambda: store.jobs.get(job_id).progress.get("step", 0) >= 12,
        120,
        "the job to train past its first checkpoint",
    )
    # The platform restarts: a new executor knows no actor, and looks the job's up by name.
    again = RayExecutor(address=ray_cluster)
    scheduler = Scheduler(store, machine, again)
    try:
        assert again.state(store.jobs.get(job_id).worker_pid).alive
        store.jobs.request_stop(job_id, StopRequest.CANCEL, "cancelled by me")
        job = passes_until(scheduler, lambda: ended(store, job_id), 60, "the job to end")
    finally:
        scheduler.shutdown()
    assert job.status == RunStatus.CANCELLED and job.restarts == 0, job.run.status_reason
    assert re.match(
        r"cancelled by me: stopped at step \d+ \(checkpoint step-\d+\)", job.run.status_reason
    )


def test_a_killed_actor_or_worker_is_restarted_and_resumes_from_its_checkpoint(
    executor: RayExecutor,
) -> None:
    store = open_store()
    job_id = submit(store, epochs=20, max_restarts=2)
    scheduler = Scheduler(store, executor.machine(), executor)

    def checkpointed(attempt: int):
        job = store.jobs.get(job_id)
        return job.attempt == attempt and job.checkpoint_step and job.heartbeat_at and job

    try:
        for attempt in (1, 2):
            job = passes_until(
                scheduler, lambda a=attempt: checkpointed(a), 120, f"attempt {attempt} to save"
            )
            actor = ray.get_actor(actor_name(job.worker_pid), namespace=NAMESPACE)
            if attempt == 1:
                ray.kill(actor)  # as when its node is lost: the worker dies with it
            else:
                os.kill(ray.get(actor.describe.remote())["pid"], signal.SIGKILL)
        job = passes_until(scheduler, lambda: ended(store, job_id), 180, "the job to end")
    finally:
        scheduler.shutdown()
    assert job.status == RunStatus.SUCCEEDED, job.run.status_reason
    assert job.restarts == 2 and len(job.attempts) == 3
    gone, killed = job.attempts[0], job.attempts[1]
    assert "is gone" in gone["reason"] and killed["exit_code"] == -signal.SIGKILL
    for number, attempt in enumerate((gone, killed), start=1):
        assert attempt["outcome"] == "queued"
        resumes = rf"restart {number} of 2 resumes from its checkpoint at step \d+"
        assert re.search(resumes, attempt["reason"]), attempt["reason"]
    log = Path(log_path(store.artifacts, job_id)).read_text()
    assert f"job {job_id} attempt 3: worker pid " in log
