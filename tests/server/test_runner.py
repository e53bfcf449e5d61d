"""The real platform: jobs compete for slots, logs are followed, a job is cancelled, the
server and a worker are killed with SIGKILL mid-job and nothing is lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from athanor.errors import UserError
from athanor.registry.package import load_package
from athanor.store import RunStatus, open_store
from athanor.store.checkpoints import CheckpointFolder
from tests.server.conftest import ATHANOR, PlatformProcess, wait_for

SPEC = """\
name: {name}
seed: 7
data: {{dataset: digits, split: {{val: 0.1, test: 0.2}}}}
model: {{template: mlp, hidden: [32]}}
train: {{epochs: {epochs}, batch_size: 8, checkpoint: {{every_steps: 40}}}}
"""


def submit(platform: PlatformProcess, name: str, epochs: int, *overrides: str) -> int:
    job = platform.client().submit_job(
        SPEC.format(name=name, epochs=epochs), filename=f"{name}.yaml", overrides=list(overrides)
    )
    return job["id"]


def final(platform: PlatformProcess, job_id: int, timeout: float = 120.0) -> dict:
    client = platform.client()
    return wait_for(
        lambda: (
            (job := client.call("get_job", job_id=job_id))["status"]
            in ("succeeded", "failed", "cancelled")
            and job
        ),
        timeout,
        f"job {job_id} to end",
        every=0.25,
    )


def points(platform: PlatformProcess, run_id: int) -> set[tuple[str, int, float]]:
    series = platform.store().runs.metrics(run_id)
    return {(p.name, p.step, p.value) for values in series.values() for p in values}


def test_jobs_compete_cancel_and_survive_sigkill_of_server_and_worker(
    platform_factory, mirror: Path, tmp_path: Path
) -> None:
    platform = platform_factory("--cpus", "2", "--gpus", "0")
    platform.start()
    client = platform.client()

    # Refused at submission: a job that could never start, and an invalid spec.
    with pytest.raises(UserError, match="job.resources.gpus: 2 asked for, and this platform has 1"):
        submit(platform, "greedy", 1, "job.resources.gpus=2")
    with pytest.raises(UserError, match=r"bad.yaml:5: train.epochs: must be greater"):
        submit(platform, "bad", 0)

    long_job = submit(platform, "long", 400)
    recovered = submit(platform, "recovered", 25, "job.max_restarts=1")
    wait_for(
        lambda: all(client.call("get_job", job_id=j)["worker"] for j in (long_job, recovered)),
        30,
        "the first two jobs to get the two CPU slots",
    )
    reference = submit(platform, "reference", 25, "job.priority=-1")
    on_gpu = submit(
        platform, "on-gpu", 3, "job.resources.gpus=1", "job.priority=5", "register_as=digits-small"
    )

    # Two CPU slots: the first two run, the others wait, saying why, in priority order.
    waiting = client.call("get_job", job_id=reference)
    assert waiting["status"] == "queued"
    wait_for(
        lambda: (
            client.call("get_job", job_id=on_gpu)["queue_position"] == 1
            and client.call("get_job", job_id=reference)["queue_position"] == 2
            and "waiting for 1 CPU slot (0 of 2 free)"
            in client.call("get_job", job_id=reference)["wait_reason"]
        ),
        30,
        "the queue positions and wait reasons",
    )

    # Follow the long job's log with the CLI while it runs (across the restart below). Its
    # state lines go to a file, read before the server is killed: a follower slow to start
    # on a busy machine would otherwise first connect after the job was cancelled.
    follower_states = tmp_path / "follower-stderr.txt"
    with follower_states.open("w") as states:
        follower = subprocess.Popen(
            [*ATHANOR, "jobs", "logs", "-f", str(long_job)],
            env=platform.env,
            stdout=subprocess.PIPE,
            stderr=states,
            text=True,
        )

    # A job placed on a fresh worker process is queued until that process has imported its
    # libraries and claimed it, which can take longer than the other job's first checkpoint.
    wait_for(
        lambda: client.call("get_job", job_id=long_job)["status"] == "running",
        60,
        "the long job's worker to claim it",
    )
    wait_for(
        lambda: f"job {long_job} running" in follower_states.read_text(),
        60,
        "the follower to see the long job running",
    )

    # SIGKILL the server and the worker of a job once it has a mid-epoch checkpoint.
    def checkpointed() -> dict | None:
        job = client.call("get_job", job_id=recovered)
        step = (job["summary"].get("checkpoint") or {}).get("step") or 0
        return job if step >= 80 and job["progress"].get("step", 0) < 2000 else None

    job = wait_for(checkpointed, 90, "a checkpoint of the job to recover", every=0.05)
    live = client.call("get_job", job_id=long_job)
    assert live["status"] == "running" and live["progress"]["eta_seconds"] is not None
    assert live["progress"]["first_step_at"] and live["worker"]["heartbeat_age_seconds"] < 5
    worker = job["worker"]["pid"]
    os.kill(worker, signal.SIGKILL)
    platform.kill()
    reported = points(platform, recovered)
    folder = platform.home / "artifacts" / "runs" / str(recovered) / "checkpoints"
    assert reported and sorted(p.name for p in folder.iterdir())
    assert platform.store().runs.metrics(long_job)  # metrics appear while a job runs
    assert platform.store().runs.get(recovered).status == RunStatus.RUNNING  # nobody knows yet

    platform.start()
    restarted = time.monotonic()  # from a serving platform: its start-up is not the point
    client = platform.client()
    requeued = wait_for(
        lambda: (job := client.call("get_job", job_id=recovered))["restarts"] == 1 and job,
        15,
        "the dead worker to be noticed",
    )
    assert time.monotonic() - restarted < 20
    first_attempt = requeued["attempts"][0]
    assert first_attempt["pid"] == worker and first_attempt["exit_code"] is None
    assert "was killed" in first_attempt["reason"] or "is gone" in first_attempt["reason"]
    assert "restart 1 of 1 resumes from its checkpoint at step" in first_attempt["reason"]
    # The long job trained on while no platform ran; the new one watches its worker again.
    assert client.call("get_job", job_id=long_job)["status"] == "running"

    # Cancel it: SIGTERM, a checkpoint, the run ends cancelled and resumable.
    assert "is stopping" in platform.cli("jobs", "cancel", str(long_job)).stdout
    cancelled = final(platform, long_job, 60)
    assert cancelled["status"] == "cancelled"
    assert cancelled["reason"].startswith("cancelled by owner: stopped at step ")
    assert f"'athanor runs resume {long_job}' continues it" in cancelled["reason"]
    out, _ = follower.communicate(timeout=60)
    err = follower_states.read_text()
    assert follower.returncode == 1, err
    assert "epoch 1/400" in out and f"run {long_job} cancelled: cancelled by owner" in out
    assert f"job {long_job} cancelled" in err

    done = {job_id: final(platform, job_id) for job_id in (recovered, reference, on_gpu)}
    assert {job_id: job["status"] for job_id, job in done.items()} == dict.fromkeys(
        done, "succeeded"
    ), done
    assert done[recovered]["attempt"] == 2
    log = platform.client().call("read_job_log", job_id=recovered)["text"]
    assert "resuming from step-" in log and "attempt 2" in log

    # Nothing lost: every metric point reported before the kill is still there, epoch
    # metrics are not duplicated, and the result equals the uninterrupted twin's.
    after = points(platform, recovered)
    assert reported <= after
    series = platform.store().runs.metrics(recovered)
    assert [p.epoch for p in series["val_loss"]] == list(range(1, 26))
    twin = platform.store().runs.metrics(reference)
    assert [p.value for p in series["val_loss"]] == [p.value for p in twin["val_loss"]]
    assert done[recovered]["summary"]["metrics"] == done[reference]["summary"]["metrics"]

    # The GPU job was given GPU 0 alone and started before the lower-priority reference.
    gpu_log = platform.client().call("read_job_log", job_id=on_gpu)["text"]
    assert "CUDA_VISIBLE_DEVICES='0'" in gpu_log
    assert done[on_gpu]["attempts"][0]["devices"] == [0]
    assert done[on_gpu]["attempts"][0]["started_at"] < done[reference]["attempts"][0]["started_at"]

    # A worker killed while the platform runs is noticed within seconds.
    doomed = submit(platform, "doomed", 400)
    pid = wait_for(
        lambda: (
            (job := client.call("get_job", job_id=doomed))["status"] == "running"
            and job["worker"]["pid"]
        ),
        60,
        "the doomed job to run",
    )
    os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    failed = final(platform, doomed, 15)
    assert time.monotonic() - killed_at < 5
    assert failed["status"] == "failed"
    assert f"its worker (pid {pid} on " in failed["reason"]
    assert "was killed by SIGKILL; no restarts left (job.max_restarts=0)" in failed["reason"]

    # A deployment of the registered model answers, and is served again after a restart.
    created = client.call("create_deployment", body={"name": "digits", "model": "digits-small"})
    assert created["status_reason"] == "serving digits-small@1"
    # The first digit (a 0) as the dataset gives it: 8 x 8 grey levels scaled to 0-255.
    image = np.rint(load_digits().images[0] * 255 / 16).astype(int).tolist()
    answer = client.call("predict_deployment", name="digits", body={"inputs": [[image]]})
    assert answer["model"] == "digits-small@1" and answer["predictions"][0]["label"] == "0"

    # 'athanor down' stops it cleanly.
    assert "stopped" in platform.cli("down").stdout
    assert platform.process is not None and platform.process.wait(timeout=30) == 0
    assert not (platform.home / "platform.json").exists()
    assert "no platform is running" in platform.cli("jobs", "list", check=False).stderr
    platform.start()
    restored = platform.client().call("list_deployments")
    assert [(d["name"], d["status"], d["serving"][0]["ref"]) for d in restored] == [
        ("digits", "running", "digits-small@1")
    ]
    again = platform.client().call("predict_deployment", name="digits", body={"inputs": [[image]]})
    assert again["predictions"] == answer["predictions"]
    assert platform.stop() == 0


def test_up_detached_refuses_a_second_platform_and_down_preempts_running_jobs(
    platform_factory, tmp_path: Path
) -> None:
    platform = platform_factory("--cpus", "1", "--gpus", "none")
    env = platform.env
    started = subprocess.run(
        [*ATHANOR, "up", "-d", "--port", "0", "--cpus", "1", "--gpus", "none"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode == 0, started.stderr
    info = json.loads((platform.home / "platform.json").read_text())
    assert f"platform started at {info['url']}" in started.stdout
    platform.url = info["url"]
    second = platform.cli("up", "--port", "0", check=False)
    assert second.returncode == 2
    assert f"a platform already runs on {platform.home} at {info['url']}" in second.stderr

    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(name="preempted", epochs=400))
    submitted = platform.cli("train", str(spec), "--detach")
    assert "job 1 queued" in submitted.stdout
    client = platform.client()
    wait_for(
        lambda: (client.call("get_job", job_id=1)["progress"].get("step") or 0) > 50,
        60,
        "the job to train",
    )
    assert "stopped" in platform.cli("down").stdout
    job = platform.store().jobs.get(1)
    assert job.status == RunStatus.QUEUED and job.worker_pid is None
    assert job.run.status_reason.startswith("preempted: the platform is shutting down: stopped")
    assert job.run.status_reason.endswith("it resumes from there")
    assert "no platform is running" in platform.cli("down").stdout


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU visible")
def test_a_gpu_job_trains_on_the_gpu_it_was_given(platform_factory) -> None:
    platform = platform_factory("--cpus", "2")  # GPUs detected with nvidia-smi
    platform.start()
    gpus = platform.client().call("platform")["machine"]["gpus"]
    assert gpus, "nvidia-smi lists no GPU although CUDA sees one"
    job_id = submit(platform, "on-cuda", 2, "job.resources.gpus=1", "train.device=cuda")
    done = final(platform, job_id)
    assert done["status"] == "succeeded", done["reason"]
    assert done["summary"]["device"] == "cuda" and done["devices"] == []
    index = done["attempts"][0]["devices"][0]
    log = platform.client().call("read_job_log", job_id=job_id)["text"]
    assert f"CUDA_VISIBLE_DEVICES='{index}'" in log


def test_on_postgresql_jobs_compete_are_cancelled_and_survive_sigkill(
    postgres_url: str, platform_factory, mirror: Path, s3_bucket: str
) -> None:
    """The platform, its workers and the CLI share a PostgreSQL database (ATHANOR_DB_URL),
    and artifacts are published to a bucket on a real S3 API server as well as kept on disk
    (one run covers both: the SQLite test above covers the platform without them)."""
    bucket_url = s3_bucket
    platform = platform_factory("--cpus", "1", "--gpus", "none", "--warm-workers", "0")
    assert platform.env["ATHANOR_DB_URL"] == postgres_url
    assert platform.env.get("ATHANOR_ARTIFACTS_URL") == bucket_url
    platform.start()
    client = platform.client()
    recovered = submit(platform, "recovered", 4, "job.max_restarts=1")
    waiting = submit(platform, "waiting", 400)

    # One CPU slot: the second job waits, saying why.
    wait_for(
        lambda: (
            "waiting for 1 CPU slot (0 of 1 free)"
            in client.call("get_job", job_id=waiting)["wait_reason"]
        ),
        30,
        "the second job to wait for the slot",
    )

    # SIGKILL the worker and the server once the first job has a mid-run checkpoint.
    def checkpointed() -> dict | None:
        job = client.call("get_job", job_id=recovered)
        step = (job["summary"].get("checkpoint") or {}).get("step") or 0
        return job if step >= 80 and job["progress"].get("step", 0) < 400 else None

    job = wait_for(checkpointed, 90, "a checkpoint of the job to recover", every=0.05)
    os.kill(job["worker"]["pid"], signal.SIGKILL)
    platform.kill()
    reported = points(platform, recovered)
    assert reported and platform.store().runs.get(recovered).status == RunStatus.RUNNING

    platform.start()
    client = platform.client()
    done = final(platform, recovered, 120)
    assert done["status"] == "succeeded" and done["restarts"] == 1 and done["attempt"] == 2
    assert "restart 1 of 1 resumes from its checkpoint" in done["attempts"][0]["reason"]
    assert reported <= points(platform, recovered)
    series = platform.store().runs.metrics(recovered)
    assert [p.epoch for p in series["val_loss"]] == list(range(1, 5))

    # The waiting job got the slot; cancel it once it trains.
    wait_for(
        lambda: (client.call("get_job", job_id=waiting)["progress"].get("step") or 0) > 0,
        90,
        "the second job to train",
    )
    assert "is stopping" in platform.cli("jobs", "cancel", str(waiting)).stdout
    cancelled = final(platform, waiting, 60)
    assert cancelled["status"] == "cancelled"
    assert cancelled["reason"].startswith("cancelled by owner: stopped at step ")
    # Everything is in PostgreSQL: no SQLite file appeared in the home.
    assert not (platform.home / "athanor.db").exists()
    assert platform.stop() == 0
    if bucket_url is not None:
        # The recovered job's checkpoints, evaluation and package reached the bucket, and a
        # machine with an empty cache verifies the package from there.
        store = platform.store()
        run_dir = store.artifacts.run_dir(recovered)
        kept = [p.name for p in CheckpointFolder.of_run(run_dir).list()]
        published = store.artifacts.published_folders(CheckpointFolder.of_run(run_dir).path)
        assert kept and [p.name for p in published] == kept
        assert {p.name for p in store.artifacts.published_folders(run_dir)} >= {"model"}
        elsewhere = platform.settings.__class__(
            **{**vars(platform.settings), "home": platform.home.parent / "elsewhere"}
        )
        other = open_store(elsewhere)
        package = other.artifacts.local(done["summary"]["package"])
        assert load_package(package, expected_hash=done["summary"]["package_hash"])


def test_an_unknown_executor_or_ray_without_local_jobs_is_refused_saying_what_is_valid() -> None:
    from athanor.server.runner import serve_platform

    with pytest.raises(UserError, match="valid executors are local and ray"):
        serve_platform(port=0, executor="slurm")
    with pytest.raises(UserError, match="leave out --no-local-jobs"):
        serve_platform(port=0, executor="ray", local_jobs=False)
