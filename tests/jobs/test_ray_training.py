"""Data-parallel jobs on a real local Ray cluster (2 logical CPUs): a job with
``workers: 2`` trains as two Ray Train workers (gloo) through the Scheduler and the
RayExecutor; one of its training workers is killed after a checkpoint, the restarted attempt
resumes from it, and the job ends with the metrics of one process, none lost or twice (one
job proves both: a Ray Train start takes tens of seconds).

The cluster has 2 CPUs: the job asks for ``cpus: 1``, which its two ranks share (0.5 CPU
each, Ray allows fractions) while its worker's actor, which only drives them, asks for
none; so one job fits with a CPU to spare. The tolerance is the one of
``tests/training/test_distributed.py`` (float32 sums in another order).

Skipped where Ray is not installed (``pip install athanor[ray]``); CI
(``ATHANOR_REQUIRE_RAY``) fails instead.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator

import psutil
import pytest

import athanor as at
from athanor.jobs.logs import log_path
from athanor.jobs.ray_executor import RayExecutor
from athanor.jobs.scheduler import Scheduler
from athanor.settings import Settings
from athanor.spec import load_spec
from athanor.store import RunStatus, open_store

from .test_scheduler import ended, passes_until

TOLERANCE = 1e-5
SPEC = {
    "name": "ddp",
    "seed": 3,
    "data": {"dataset": "iris", "split": {"val": 0.2, "test": 0.2}},
    "model": {"template": "mlp", "hidden": [8]},
    "train": {
        "epochs": 8,
        "batch_size": 8,
        "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9},
        "checkpoint": {"every_steps": 5},
    },
}


def submit(store, **job: object) -> int:
    resources = {"cpus": 1, "workers": 2}
    spec = load_spec({**SPEC, "job": {"stop_timeout": 20.0, "resources": resources, **job}})
    return store.jobs.submit(spec.model_dump(mode="json"), name="ddp", dataset="iris").id


def epoch_metrics(store, run_id: int) -> dict[str, list[tuple[int, float]]]:
    """Every logged metric but those sampled by time (batch loss, learning rate) and the
    epoch's duration."""
    series = store.runs.metrics(run_id)
    batch = [p.step for p in series.get("batch_loss", [])]
    assert batch == sorted(set(batch))  # never a step twice
    return {
        name: [(p.step, p.value) for p in points]
        for name, points in series.items()
        if name not in ("batch_loss", "lr_step", "epoch_seconds")
    }


@pytest.fixture(scope="module")
def one_process(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[int, float]]]:
    """The epoch metrics of the same spec trained by one process (a store of its own)."""
    home = tmp_path_factory.mktemp("one-process")
    settings = Settings(home=home, db_url=f"sqlite:///{home / 'athanor.db'}", data_mirrors=())
    run = at.train(
        {**SPEC, "job": {"resources": {"workers": 1}}}, progress=False, settings=settings
    )
    return epoch_metrics(open_store(settings), run.run.id)


@pytest.fixture
def executor(ray_cluster: str) -> Iterator[RayExecutor]:
    executor = RayExecutor(address=ray_cluster)
    yield executor
    executor.close()


def training_workers(address: str) -> list[psutil.Process]:
    """The Ray Train worker processes of the test's cluster (not another user's)."""
    port = address.rsplit(":", 1)[1]
    found = []
    for raylet in psutil.process_iter(["cmdline"]):
        command = " ".join(raylet.info["cmdline"] or [])
        if "raylet" not in command or port not in command:
            continue
        for child in raylet.children(recursive=True):
            try:
                if "RayTrainWorker" in " ".join(child.cmdline()) + child.name():
                    found.append(child)
            except psutil.NoSuchProcess:
                continue
    return found


def test_a_two_worker_job_trains_like_one_process_through_a_killed_training_worker(
    executor: RayExecutor, ray_cluster: str, one_process
) -> None:
    store = open_store()
    job_id = submit(store, max_restarts=1)
    scheduler = Scheduler(store, executor.machine(), executor)

    def checkpointed():
        job = store.jobs.get(job_id)
        return job.attempt == 1 and job.checkpoint_step and training_workers(ray_cluster)

    try:
        workers = passes_until(scheduler, checkpointed, 300, "attempt 1 to save a checkpoint")
        workers[-1].send_signal(signal.SIGKILL)
        job = passes_until(scheduler, lambda: ended(store, job_id), 300, "the job to end")
    finally:
        scheduler.shutdown()
    log = log_path(store.artifacts, job_id).read_text()
    assert job.status == RunStatus.SUCCEEDED, (job.run.status_reason, log[-3000:])
    assert job.restarts == 1 and len(job.attempts) == 2
    first = job.attempts[0]
    assert first["outcome"] == "queued" and first["exit_code"] == 1, first
    assert re.search(r"restart 1 of 1 resumes from its checkpoint at step \d+", first["reason"])
    assert "the Ray Train run failed" in log and f"job {job_id} attempt 2" in log
    assert "2 Ray Train workers (0.5 CPU each, gloo)" in log
    assert job.run.summary["workers"] == 2
    two = epoch_metrics(store, job_id)
    assert two.keys() == one_process.keys()
    for name, points in one_process.items():  # none lost, none twice
        assert [s for s, _ in two[name]] == [s for s, _ in points], name
        assert [v for _, v in two[name]] == pytest.approx([v for _, v in points], abs=TOLERANCE)
