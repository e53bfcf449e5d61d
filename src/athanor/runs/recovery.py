"""Runs and jobs whose process is gone: the lifecycle's decision, applied to the store.

A process killed with SIGKILL cannot say how its run ended; whoever looks next (listing
runs, the scheduler's pass, a new search) corrects the record here. A plain run is marked
failed; a job's run is handled by the job's rules (restart or fail, see
:func:`athanor.runs.lifecycle.worker_ended`).
"""

from __future__ import annotations

from athanor.errors import NotFound
from athanor.runs import lifecycle
from athanor.runs.lifecycle import DEFAULT_RESTART_POLICY, RestartPolicy
from athanor.store import JobRecord, Store
from athanor.store.lease import this_host

_RETRIES = 5  # a change decided on a stale read is decided again, on a fresh one


def end_attempt(
    store: Store,
    job_id: int,
    *,
    pid: int,
    how: str,
    exit_code: int | None = None,
    checkpoint_step: int | None = None,
    policy: RestartPolicy = DEFAULT_RESTART_POLICY,
) -> JobRecord | None:
    """Release job ``job_id`` from its worker ``pid``, which has ended, deciding how the run
    goes on when the worker did not record it (:func:`lifecycle.worker_ended`).

    Args:
        store: the platform's store.
        job_id: the job.
        pid: the worker that ended.
        how: what happened to it, e.g. ``"was killed by SIGKILL"``.
        exit_code: its exit status, when known.
        checkpoint_step: the step of the run's newest checkpoint on disk (default: the one
            the run's summary names).
        policy: restart or fail a job whose worker died.

    Returns:
        The job afterwards, or ``None`` when ``pid`` no longer held it (someone else
        handled the same death).
    """
    for _ in range(_RETRIES):
        try:
            job = store.jobs.get(job_id)
        except NotFound:
            return None
        if job.worker_pid != pid:
            return None
        end = lifecycle.worker_ended(job, how, checkpoint_step=checkpoint_step, policy=policy)
        ended = store.jobs.end_attempt(
            job_id,
            pid=pid,
            change=end.change,
            stop_request=job.stop_request,
            restart=end.restart,
            exit_code=exit_code,
        )
        if ended is not None:
            return ended
    return None


def reconcile_orphans(store: Store, *, policy: RestartPolicy = DEFAULT_RESTART_POLICY) -> list[int]:
    """Correct the running runs of this machine whose process is gone.

    A plain run is marked failed with the reason; a job's run is handed to the job's rules
    (:func:`end_attempt` with ``policy``).

    Returns:
        The ids of the runs corrected.
    """
    corrected = []
    for run in store.runs.held_on(this_host()):
        if run.pid is not None and run.lease.alive(timeout=float("inf")):
            continue
        if run.pid is not None and store.jobs.exists(run.id):
            # A job's worker died: the job is queued again while it has restarts left.
            end_attempt(
                store, run.id, pid=run.pid, how="ended without finishing the run", policy=policy
            )
            corrected.append(run.id)
            continue
        if store.runs.transition(run.id, lifecycle.orphaned(run.lease)) is not None:
            corrected.append(run.id)
    return corrected
