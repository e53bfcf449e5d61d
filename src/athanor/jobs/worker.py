"""A worker process: trains one attempt of one job, then exits.

``python -m athanor.jobs.worker JOB_ID --attempt N`` starts cold; ``--standby`` imports
PyTorch and Athanor first and then waits for a job on its standard input (a JSON line from
the local executor: the job, its environment and its log file). Either way the worker

- heartbeats every second (the scheduler's sign that it lives),
- claims the job's run (exactly one worker trains it) and trains it, continuing from the
  run's newest checkpoint when an earlier attempt left one,
- reports progress (step, epoch, rate, ETA) to the store,
- on SIGTERM stops after the current step with a checkpoint; the run ends cancelled, or is
  queued again when the platform preempted it (shutting down).

Its standard output and error are the job's log.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
import traceback
from datetime import UTC, datetime
from typing import Any

from athanor.errors import NotFound, UserError
from athanor.runs import lifecycle
from athanor.store import JobRepository, RunRecord, StopRequest, Store, open_store
from athanor.store.checkpoints import CheckpointFolder
from athanor.store.lease import this_host, this_process_id

HEARTBEAT_SECONDS = 1.0
EXIT_NOT_QUEUED = 3
EXIT_LOST = 75  # another worker may own the job now: stop at once, writing nothing


def say(message: str) -> None:
    """A line of the platform's own in the job's log."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    print(f"[athanor {stamp}] {message}", file=sys.stderr, flush=True)


class Heartbeat:
    """Refreshes the job's heartbeat every ``every`` seconds from a daemon thread.

    When the store says this process no longer holds the job (the scheduler gave up on it
    and may have started another worker), the process exits at once, so that two workers
    never write the same run.
    """

    def __init__(self, jobs: JobRepository, job_id: int, *, every: float = HEARTBEAT_SECONDS):
        self.jobs = jobs
        self.job_id = job_id
        self.every = every
        self.pid = this_process_id()
        self.host = this_host()
        self._held = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._beat()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _beat(self) -> None:
        held = self.jobs.heartbeat(self.job_id, self.pid, self.host)
        if held:
            self._held = True
        elif self._held:  # before the scheduler has recorded this worker, it is not lost
            say(f"job {self.job_id} is no longer held by this worker (pid {self.pid}); exiting")
            os._exit(EXIT_LOST)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self._beat()
            except Exception as exc:  # a busy database: the next beat tries again
                say(f"heartbeat failed: {exc}")


def _stop_recorder(store: Store, job_id: int):
    """How a run stopped by SIGTERM is recorded: cancelled, or queued again if preempted."""

    def record(run_id: int, fit: Any) -> RunRecord:
        job = store.jobs.get(job_id)
        saved = CheckpointFolder.of_run(store.artifacts.run_dir(run_id)).newest()
        where = lifecycle.stop_point(fit.steps, saved.name if saved is not None else None)
        if job.stop_request == StopRequest.PREEMPT:
            change = lifecycle.preempted(job.stop_reason, where)
            summary = None
        else:
            asked = job.stop_reason or str(fit.stop_reason)
            change = lifecycle.cancelled_on_request(run_id, asked, where)
            summary = {"steps": fit.steps}
        done = store.runs.transition(run_id, change, summary=summary)
        return done if done is not None else store.runs.get(run_id)

    return record


def run_job(job_id: int, attempt: int, cpus: int) -> int:
    """Train one attempt of job ``job_id`` from this process; returns the exit status.

    A data-parallel job (``job.resources.workers`` > 1) started by the Ray executor trains
    as Ray Train workers that this process drives (:mod:`athanor.jobs.ray_training`);
    elsewhere its other ranks are child processes of this one.
    """
    store = open_store()
    heartbeat = Heartbeat(store.jobs, job_id).start()
    try:
        devices = os.environ.get("CUDA_VISIBLE_DEVICES", "")
        say(
            f"job {job_id} attempt {attempt}: worker pid {os.getpid()} on "
            f"{this_host()}; GPUs: {devices or 'none'} "
            f"(CUDA_VISIBLE_DEVICES={devices!r}); {cpus} CPU thread(s)"
        )
        try:
            resources = store.jobs.get(job_id).resources
        except NotFound:  # train_attempt says so, as for any run that is missing
            resources = {}
        workers = int(resources.get("workers", 1))
        from athanor.jobs.ray_training import RAY_ADDRESS_VARIABLE

        if workers > 1 and os.environ.get(RAY_ADDRESS_VARIABLE):
            from athanor.jobs.ray_training import train_on_ray

            store.jobs.set_progress(job_id, {"phase": "starting the Ray Train workers"})
            return train_on_ray(
                job_id,
                attempt,
                workers=workers,
                gpus=int(resources.get("gpus", 0)),
                cpus=int(resources.get("cpus", cpus)),
            )
        return train_attempt(store, job_id, cpus)
    finally:
        heartbeat.stop()


def train_attempt(
    store: Store,
    job_id: int,
    cpus: int,
    *,
    distributed: Any = None,
    stop_watch: bool = False,
) -> int:
    """Train the job's run in this process (rank 0 of a data-parallel run); returns the
    exit status.

    Args:
        store: the platform's store.
        job_id: the job.
        cpus: the thread count.
        distributed: rank 0's context when Ray Train started the ranks (default: none, or
            the ranks are started here).
        stop_watch: stop when the job is asked to (the job worker that gets SIGTERM is
            another process).
    """
    try:
        store.jobs.set_progress(job_id, {"phase": "loading data and building the network"})
        import torch

        torch.set_num_threads(cpus)
        from rich.console import Console

        from athanor.jobs.progress import JobProgress
        from athanor.runs import execute

        trial = store.runs.get(job_id).summary.get("trial")
        with contextlib.ExitStack() as stack:
            callbacks: list[Any] = [JobProgress(store.jobs, job_id)]
            if stop_watch:
                from athanor.jobs.ray_training import StopWhenAsked

                callbacks.append(StopWhenAsked(store.jobs, job_id))
            if trial:  # a search's trial: report each epoch to it, stop when it is pruned
                from athanor.tuning.trials import FindingsRecorder, reporting_to_trial

                say(f"job {job_id} trains trial {trial.get('number')} of {trial.get('study_name')}")
                reporter = stack.enter_context(reporting_to_trial(trial, store.settings))
                callbacks += [reporter, FindingsRecorder(store.runs, job_id, reporter, trial)]
            result = execute(
                job_id,
                progress=True,
                # The log is a file: lines are not wrapped at a terminal's width.
                console=Console(stderr=True, soft_wrap=True, highlight=False),
                callbacks=callbacks,
                on_stop=_stop_recorder(store, job_id),
                evaluate_test=not trial,  # a search tests only its winner, once
                distributed=distributed,
            )
        if result is None:
            say(f"job {job_id} is no longer queued (cancelled or taken); nothing to do")
            return EXIT_NOT_QUEUED
        run = result.run
        say(f"run {run.id} {run.status}: {run.status_reason}")
        if run.status == "succeeded":
            _after_success(store, job_id, result)
        return 0
    except UserError as exc:
        say(f"error: {exc}")
        return 2
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        return 1


def _after_success(store: Store, job_id: int, result: Any) -> None:
    """The last step of a job that trained from a labeling project's labels: pre-label
    the project's other items with the new model."""
    from athanor.label.training import after_training

    version = result.model_version
    outcome = after_training(store, job_id, version.ref if version is not None else None)
    if outcome is not None:
        say(f"job {job_id}: pre-labeled {outcome['prelabeled']} item(s) with {outcome['model']}")


def _warm_up() -> None:
    """Load what the first step of nearly every job loads lazily (seconds each on a small
    machine): the optimizers' compiler hooks and scikit-learn (bundled datasets, splits)."""
    import sklearn.datasets
    import sklearn.model_selection  # noqa: F401
    import torch

    parameter = torch.zeros(1, requires_grad=True)
    torch.optim.Adam([parameter]).step()  # imports torch._dynamo, as every optimizer does


def _standby() -> tuple[int, int, int] | None:
    """Import the training stack, then wait for a job; returns (job, attempt, cpus)."""
    import athanor.runs.pipeline  # noqa: F401 - the slow imports, done before a job comes

    _warm_up()
    open_store()  # the database file and its schema are checked once, now
    line = sys.stdin.readline()
    if not line.strip():
        return None  # the platform stopped before giving this worker a job
    assignment = json.loads(line)
    os.environ.update({str(k): str(v) for k, v in assignment["env"].items()})
    sys.stdout.flush()
    sys.stderr.flush()
    log = os.open(assignment["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    return int(assignment["job"]), int(assignment["attempt"]), int(assignment["cpus"])


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m athanor.jobs.worker``."""
    parser = argparse.ArgumentParser(prog="athanor.jobs.worker", description=__doc__)
    parser.add_argument("job", nargs="?", type=int, help="the job (run) id")
    parser.add_argument("--attempt", type=int, default=1)
    parser.add_argument("--standby", action="store_true", help="wait for a job on stdin")
    args = parser.parse_args(argv)
    if args.standby:
        assigned = _standby()
        if assigned is None:
            return 0
        job_id, attempt, cpus = assigned
    elif args.job is None:
        parser.error("a job id, or --standby")
    else:
        job_id, attempt = args.job, args.attempt
        cpus = int(os.environ.get("ATHANOR_JOB_CPUS", "1"))
    return run_job(job_id, attempt, cpus)


if __name__ == "__main__":
    sys.exit(main())
