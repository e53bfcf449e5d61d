"""``athanor worker`` end to end in team mode: a platform on PostgreSQL and an S3 bucket
that runs no jobs itself, and workers that each have their own ``ATHANOR_HOME`` and know
only the platform's URL and an admin's token. A job trains on one worker; when that machine
is lost (SIGKILL of the worker and its job), another resumes the job from the checkpoint in
the bucket; the platform serves the job's log from the bucket; a cancel reaches the worker;
each join is in the audit trail."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from athanor.jobs.scheduler import WAITING_FOR_A_WORKER
from tests.server.conftest import ATHANOR, PlatformProcess, platform_env, wait_for
from tests.server.test_runner import final, submit

# What a worker machine must not know before it joins: the platform hands them over.
SHARED = ("ATHANOR_DB_URL", "ATHANOR_TUNE_DB_URL", "ATHANOR_ARTIFACTS_URL")


class WorkerProcess:
    """``athanor worker --platform URL --token T --name NAME`` with a home of its own."""

    def __init__(self, home: Path, platform: PlatformProcess, name: str) -> None:
        self.home, self.name = home, name
        self.env = platform_env(home)
        for variable in [*SHARED, *(v for v in self.env if v.startswith("AWS_"))]:
            self.env.pop(variable, None)
        home.mkdir(parents=True)
        log = open(home.parent / f"worker-{name}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                *ATHANOR,
                "worker",
                "--platform",
                platform.url,
                "--token",
                platform.owner_token,
                "--name",
                name,
                "--cpus",
                "1",
                "--gpus",
                "none",
                "--warm-workers",
                "0",
                "--heartbeat-timeout",
                "4",
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def output(self) -> str:
        return (self.home.parent / f"worker-{self.name}.log").read_text(errors="replace")

    def lose(self, *job_workers: int) -> None:
        """The machine is gone: the worker and the job workers it started (each in a
        session of its own) die at once."""
        self.process.kill()
        for pid in job_workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


@pytest.fixture
def team(postgres_url: str, s3_bucket: str, tmp_path: Path):
    platform = PlatformProcess(
        tmp_path / "platform-home", "--no-local-jobs", "--gpus", "none", "--warm-workers", "0"
    )
    workers: list[WorkerProcess] = []

    def join(name: str) -> WorkerProcess:
        worker = WorkerProcess(tmp_path / f"{name}-home", platform, name)
        workers.append(worker)
        return worker

    try:
        yield platform, join
    finally:
        for worker in workers:
            worker.process.kill()
            worker.process.wait()
        platform.kill()
        platform.kill_workers()  # the job workers of every machine: they ran on this one


def test_workers_on_other_machines_train_resume_and_cancel_the_platforms_jobs(team) -> None:
    platform, join = team
    platform.start()
    client = platform.client()
    assert "no local jobs" in platform.output()
    recovered = submit(platform, "recovered", 6, "job.max_restarts=1")
    wait_for(
        lambda: client.call("get_job", job_id=recovered)["wait_reason"] == WAITING_FOR_A_WORKER,
        30,
        "the job to wait for a worker",
    )

    first = join("box-2")

    def checkpointed() -> dict | None:
        job = client.call("get_job", job_id=recovered)
        step = (job["summary"].get("checkpoint") or {}).get("step") or 0
        return job if step >= 80 and job["status"] == "running" else None

    job = wait_for(checkpointed, 120, "a checkpoint of the job on box-2", every=0.1)
    assert job["worker"]["host"] == "box-2", job["worker"]
    assert not (platform.home / "artifacts" / "runs" / str(recovered) / "checkpoints").exists()
    first.lose(job["worker"]["pid"])

    second = join("box-3")  # it finds box-2 silent, and resumes its job from the bucket
    done = final(platform, recovered, 180)
    assert done["status"] == "succeeded", (done["reason"], second.output())
    assert [attempt["host"] for attempt in done["attempts"]] == ["box-2", "box-3"]
    assert "was taken for lost" in done["attempts"][0]["reason"]
    assert "restart 1 of 1 resumes from its checkpoint" in done["attempts"][0]["reason"]
    log = wait_for(  # complete: the job's worker has exited, and its last lines are in
        lambda: (
            (chunk := client.call("read_job_log", job_id=recovered))["complete"] and chunk["text"]
        ),
        30,
        "the whole log",
    )
    assert f"job {recovered} attempt 2: worker pid" in log and "on box-3" in log, log[-2000:]
    assert f"run {recovered} succeeded" in log  # its last line, published as it ended

    # A cancel asked of the platform reaches the worker that trains the job.
    waiting = submit(platform, "cancelled", 400)
    wait_for(
        lambda: (client.call("get_job", job_id=waiting)["progress"].get("step") or 0) > 0,
        120,
        "the second job to train on box-3",
    )
    assert "is stopping" in platform.cli("jobs", "cancel", str(waiting)).stdout
    cancelled = final(platform, waiting, 90)
    assert cancelled["status"] == "cancelled" and cancelled["attempts"][-1]["host"] == "box-3"

    joined = [
        (entry["object_kind"], entry["object_id"], entry["user"])
        for entry in json.loads(platform.cli("audit", "--json").stdout)
        if entry["action"] == "join"
    ]
    assert sorted(joined) == [("worker", "box-2", "owner"), ("worker", "box-3", "owner")]
    assert second.stop() == 0, second.output()
    assert "worker box-3 stopped" in second.output()
