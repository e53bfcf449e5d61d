"""Data-parallel jobs on a Ray cluster: the ranks run as Ray Train workers (``TorchTrainer``).

A job with ``job.resources.workers: N`` placed by the Ray executor still has one job worker,
the process the scheduler watches (heartbeats, exit status, signals). That worker becomes
the *driver* of a ``TorchTrainer`` of N workers (``ScalingConfig(num_workers=N,
use_gpu=...)``): Ray Train places the ranks on the cluster and forms their process group
(NCCL with GPUs, gloo on CPUs). Rank 0 trains the attempt as a job worker would (claims the
run, logs metrics, writes checkpoints, packages the model), under the job worker's identity
(its ``ATHANOR_*`` variables reach the ranks); ranks 1 to N-1 only train
(:func:`athanor.runs.distributed.follow`).

- **Resources.** Each rank asks Ray for ``cpus / N`` CPUs (fractions allowed) and, for a GPU
  job, one GPU; the job worker's actor asks for none (it only waits), so the job holds what
  its spec says.
- **Stopping.** SIGTERM reaches the job worker, not rank 0: the worker notes it, and rank 0
  sees the job's stop request in the store within a second and stops at a checkpoint; the
  scheduler's hard kill ends the worker, and Ray ends the ranks it owns.
- **Failures.** A rank that dies fails the ``TorchTrainer`` run (no Ray Train retries); the
  job worker exits with status 1, leaving the run running, and the scheduler's restart
  policy resumes it from its last checkpoint, as for any worker that died.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from athanor.store import JobRepository
from athanor.training.callbacks import Callback

RAY_ADDRESS_VARIABLE = "ATHANOR_RAY_ADDRESS"
"""The cluster a job worker started by the Ray executor belongs to (its GCS address)."""
STOP_POLL_SECONDS = 1.0


class StopWhenAsked(Callback):
    """Rank 0 on Ray: stop at a checkpoint once the job has a stop request (cancel,
    preemption), since the scheduler's SIGTERM goes to the job worker, not to this rank."""

    def __init__(self, jobs: JobRepository, job_id: int, *, every: float = STOP_POLL_SECONDS):
        self.jobs = jobs
        self.job_id = job_id
        self.every = every
        self._next = 0.0

    def on_after_optimizer_step(self, trainer: Any, state: Any) -> None:
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self.every
        job = self.jobs.get(self.job_id)
        if job.stop_request is not None:
            trainer.request_stop(f"stopped by SIGTERM ({job.stop_reason or 'stop requested'})")


def _rank(config: dict[str, Any]) -> None:
    """One Ray Train worker: rank 0 trains the attempt, the others follow it."""
    os.environ.update(config["env"])
    import ray.train.torch

    from athanor.jobs import worker
    from athanor.runs.distributed import follow
    from athanor.spec.run import RunSpec
    from athanor.store import open_store
    from athanor.store.checkpoints import CheckpointFolder
    from athanor.training.distributed import joined_context

    device = ray.train.torch.get_device() if config["use_gpu"] else None
    context = joined_context(device)
    job_id = int(config["job"])
    store = open_store()
    if context.leader:
        code = worker.train_attempt(
            store, job_id, int(config["cpus"]), distributed=context, stop_watch=True
        )
        if code != 0:
            raise RuntimeError(f"rank 0 of job {job_id} ended with status {code}")
        return
    spec = RunSpec.model_validate(store.runs.get(job_id).spec)
    folder = CheckpointFolder.of_run(store.artifacts.run_dir(job_id))
    follow(
        spec,
        context,
        checkpoint_dir=folder.path,
        resume_from=folder.fetch_newest(store.artifacts),
        settings=store.settings,
    )


def train_on_ray(job_id: int, attempt: int, *, workers: int, gpus: int, cpus: int) -> int:
    """Run attempt ``attempt`` of job ``job_id`` as ``workers`` Ray Train ranks; returns the
    job worker's exit status (0: rank 0 recorded how the run ended)."""
    import ray
    from ray.train import FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    from athanor.jobs.ray_executor import NAMESPACE, USAGE_STATS_VARIABLE
    from athanor.jobs.worker import say
    from athanor.settings import current_settings

    os.environ.setdefault(USAGE_STATS_VARIABLE, "0")
    env = {k: v for k, v in os.environ.items() if k.startswith("ATHANOR_")}
    if not ray.is_initialized():
        ray.init(
            address=os.environ[RAY_ADDRESS_VARIABLE],
            namespace=NAMESPACE,
            runtime_env={"env_vars": {**env, USAGE_STATS_VARIABLE: "0"}},
        )
    use_gpu = gpus > 0
    per_worker: dict[str, float] = {"CPU": cpus / workers}
    if use_gpu:
        per_worker["GPU"] = 1.0
    say(
        f"job {job_id} attempt {attempt}: {workers} Ray Train workers "
        f"({per_worker['CPU']:g} CPU{' and 1 GPU' if use_gpu else ''} each, "
        f"{'nccl' if use_gpu else 'gloo'})"
    )

    def note_stop(signum: int, _frame: object) -> None:
        say(f"{signal.Signals(signum).name}: rank 0 stops at its next step, with a checkpoint")

    previous = signal.signal(signal.SIGTERM, note_stop)
    trainer = TorchTrainer(
        _rank,
        train_loop_config={"job": job_id, "cpus": cpus, "use_gpu": use_gpu, "env": env},
        scaling_config=ScalingConfig(
            num_workers=workers, use_gpu=use_gpu, resources_per_worker=per_worker
        ),
        torch_config=TorchConfig(backend="nccl" if use_gpu else "gloo"),
        run_config=RunConfig(
            name=f"athanor-job-{job_id}-{attempt}",
            storage_path=str(current_settings().home / "ray-train"),
            failure_config=FailureConfig(max_failures=0),
        ),
    )
    try:
        trainer.fit()
    except Exception as exc:  # a rank died or failed: the restart policy decides
        say(f"job {job_id} attempt {attempt}: the Ray Train run failed: {exc}")
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


__all__ = ["RAY_ADDRESS_VARIABLE", "StopWhenAsked", "train_on_ray"]
