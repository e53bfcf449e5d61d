"""The worker process (``python -m athanor.jobs.worker``) on real jobs in a real store:
it trains an attempt, stops at a checkpoint on SIGTERM as it was asked, and exits at once
when the job is no longer its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from athanor.jobs.logs import log_path
from athanor.jobs.worker import EXIT_LOST, EXIT_NOT_QUEUED
from athanor.runs.recovery import end_attempt
from athanor.spec import load_spec
from athanor.store import RunStatus, StopRequest, open_store


def submit(store, epochs: int = 2, max_restarts: int = 0) -> int:
    spec = load_spec(
        {
            "name": "w",
            "seed": 3,
            "data": {"dataset": "iris", "split": {"val": 0.2, "test": 0.2}},
            "model": {"template": "mlp", "hidden": [8]},
            "train": {"epochs": epochs, "batch_size": 4, "checkpoint": {"every_steps": 5}},
            "job": {"max_restarts": max_restarts},
        }
    )
    return store.jobs.submit(spec.model_dump(mode="json"), name="w", dataset="iris").id


def start_worker(store, job_id: int) -> subprocess.Popen[bytes]:
    path = log_path(store.artifacts, job_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "athanor.jobs.worker", str(job_id), "--attempt", "1"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "ATHANOR_JOB_CPUS": "1"},
        )


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def log_of(store, job_id: int) -> str:
    return Path(log_path(store.artifacts, job_id)).read_text()


def test_a_worker_trains_its_job_and_reports_it() -> None:
    store = open_store()
    job_id = submit(store)
    worker = start_worker(store, job_id)
    assert worker.wait(timeout=180) == 0, log_of(store, job_id)
    job = store.jobs.get(job_id)
    assert job.status == RunStatus.SUCCEEDED and job.run.status_reason == "completed 2 epoch(s)"
    assert job.run.pid == worker.pid and job.worker_pid == worker.pid  # released by the scheduler
    assert job.heartbeat_at is not None and job.progress["epoch"] == 2
    log = log_of(store, job_id)
    assert f"job {job_id} attempt 1: worker pid {worker.pid}" in log
    assert f"run {job_id} succeeded: completed 2 epoch(s)" in log
    # a second worker for the same job finds it taken and does nothing
    again = start_worker(store, job_id)
    assert again.wait(timeout=180) == EXIT_NOT_QUEUED
    assert "is no longer queued (cancelled or taken); nothing to do" in log_of(store, job_id)
    assert store.jobs.get(job_id).run.status_reason == "completed 2 epoch(s)"


def _running(store, job_id: int, worker: subprocess.Popen[bytes]) -> None:
    wait_for(
        lambda: store.jobs.get(job_id).progress.get("step", 0) >= 10 or worker.poll() is not None,
        180,
        "the worker to train a few steps",
    )
    assert worker.poll() is None, log_of(store, job_id)


def test_sigterm_stops_a_job_at_a_checkpoint_as_it_was_asked() -> None:
    store = open_store()
    cancelled, preempted = submit(store, epochs=500), submit(store, epochs=500)
    workers = {cancelled: start_worker(store, cancelled), preempted: start_worker(store, preempted)}
    for job_id, worker in workers.items():
        _running(store, job_id, worker)
    store.jobs.request_stop(cancelled, StopRequest.CANCEL, "cancelled by me")
    store.jobs.request_stop(preempted, StopRequest.PREEMPT, "preempted: shutting down")
    for worker in workers.values():
        worker.send_signal(signal.SIGTERM)
    for job_id, worker in workers.items():
        assert worker.wait(timeout=60) == 0, log_of(store, job_id)
    stopped = store.jobs.get(cancelled).run
    assert stopped.status == RunStatus.CANCELLED and stopped.summary["steps"] > 0
    assert stopped.status_reason.startswith("cancelled by me: stopped at step ")
    assert "(checkpoint step-" in stopped.status_reason
    assert stopped.status_reason.endswith(f"'athanor runs resume {cancelled}' continues it")
    requeued = store.jobs.get(preempted).run
    assert requeued.status == RunStatus.QUEUED and requeued.finished_at is None
    assert requeued.status_reason.startswith("preempted: shutting down: stopped at step ")
    assert requeued.status_reason.endswith("; it resumes from there")


def test_a_worker_that_no_longer_holds_its_job_exits_at_once_writing_nothing() -> None:
    store = open_store()
    job_id = submit(store, epochs=500, max_restarts=1)
    worker = start_worker(store, job_id)
    _running(store, job_id, worker)
    # the scheduler took it for dead (silent too long) and queued the job again
    ended = end_attempt(store, job_id, pid=worker.pid, how="sent no heartbeat for 31 s")
    assert ended is not None and ended.status == RunStatus.QUEUED
    assert worker.wait(timeout=30) == EXIT_LOST
    assert "is no longer held by this worker" in log_of(store, job_id)
    job = store.jobs.get(job_id)
    assert job.status == RunStatus.QUEUED and job.restarts == 1
    assert job.run.status_reason == ended.run.status_reason
    assert "restart 1 of 1 resumes from its checkpoint at step" in job.run.status_reason


def test_a_job_trained_from_labels_prelabels_the_rest_as_its_last_step(tmp_path: Path) -> None:
    from athanor.data.importing import import_dataset
    from athanor.label import projects
    from athanor.label.publish import publish
    from athanor.label.training import record_training, training_spec
    from tests.label.conftest import write_mnist_pngs

    write_mnist_pngs(tmp_path / "digits", 60, labeled=40)
    import_dataset(tmp_path / "digits", name="scans")
    store = open_store()
    projects.create_project(store, "scans-work", "scans")
    spec = training_spec("image", publish(store, "scans-work")["dataset"], project="scans-work")
    spec["train"]["epochs"] = 1
    checked = load_spec(spec)
    job_id = store.jobs.submit(checked.model_dump(mode="json"), name="l", dataset="scans-work").id
    record_training(store, "scans-work", job_id=job_id, status="queued", model="scans-work-labels")
    worker = start_worker(store, job_id)
    assert worker.wait(timeout=180) == 0, log_of(store, job_id)
    assert f"job {job_id}: pre-labeled 20 item(s) with scans-work-labels@1" in log_of(store, job_id)
    project = store.labeling.get_project("scans-work")
    assert project.training["status"] == "prelabeled" and project.training["prelabeled"] == 20
    assert store.labeling.counts(project.id)["prelabeled"] == 20
