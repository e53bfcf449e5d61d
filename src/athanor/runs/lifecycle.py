"""The lifecycle of a run and of its job: the statuses, the changes allowed between them, and
the reason a user reads for each change.

Every status change of a run goes through a function here, one per event (started, resumed,
succeeded, failed, stopped, preempted, cancelled while queued, worker lost, orphan found...).
Each returns a :class:`~athanor.store.StatusChange`: the new status, its reason, and the
statuses the event may happen from. The store applies it only if the run is still in one of
those (compare and set), so a change decided on a stale read is never applied. Given the
run's ``current`` status, a function refuses an event that cannot happen from there.

This module decides only: it reads no store and starts or signals no process. Its callers
(the run pipeline, the job worker and scheduler, the recovery of orphans) apply what it
decides. What to do with a job whose worker died is a :data:`RestartPolicy`, passed in.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from athanor.errors import Conflict, UserError
from athanor.store.status import RunStatus, StatusChange, StopRequest

if TYPE_CHECKING:  # records are read, never imported at run time
    from athanor.store.jobs import JobRecord
    from athanor.store.lease import Lease
    from athanor.store.runs import RunRecord

QUEUED, RUNNING = RunStatus.QUEUED, RunStatus.RUNNING
SUCCEEDED, FAILED, CANCELLED = RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED

TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    # claimed by a worker; queued again (an attempt starts, a lost worker is restarted, a
    # preemption); cancelled before it started; no worker could start, or none is left
    QUEUED: frozenset({RUNNING, QUEUED, CANCELLED, FAILED}),
    # the run's outcomes, or back to the queue (preempted, its worker lost and restarted)
    RUNNING: frozenset({SUCCEEDED, FAILED, CANCELLED, QUEUED}),
    SUCCEEDED: frozenset(),
    # resumed: in the foreground (running) or as a job (queued)
    FAILED: frozenset({RUNNING, QUEUED}),
    CANCELLED: frozenset({RUNNING, QUEUED}),
}
"""Which statuses a run may go to from each status."""


class TransitionRefused(Conflict):
    """An event that cannot happen to a run in its current status."""


def allowed(current: RunStatus | str, target: RunStatus | str) -> bool:
    """Whether a run in ``current`` may go to ``target``."""
    return RunStatus(target) in TRANSITIONS[RunStatus(current)]


def _change(
    target: RunStatus,
    reason: str,
    sources: frozenset[RunStatus] | set[RunStatus],
    current: RunStatus | str | None,
    refusal: str | None = None,
) -> StatusChange:
    """The change to ``target`` from one of ``sources``; refused from another ``current``."""
    expected = frozenset(sources)
    stray = [source for source in expected if not allowed(source, target)]
    assert not stray, f"{stray} -> {target} is not in TRANSITIONS"
    if current is not None and RunStatus(current) not in expected:
        raise TransitionRefused(refusal or f"a {current} run cannot become {target} ({reason})")
    return StatusChange(target, reason, expected)


def checkpoint_note(step: int | None) -> str:
    """Where a run continues: ``from its checkpoint at step 40``, or from the start."""
    if step is not None:
        return f"from its checkpoint at step {step}"
    return "from the start (it had no checkpoint yet)"


# --- a run starts ------------------------------------------------------------------------


def started(checkpoint_step: int | None = None, current: RunStatus | None = None) -> StatusChange:
    """A worker claims a queued run: it starts, or continues from its newest checkpoint."""
    reason = (
        f"resumed from the checkpoint at step {checkpoint_step}"
        if checkpoint_step is not None
        else "started"
    )
    return _change(RUNNING, reason, {QUEUED}, current)


def ensure_resumable(run: RunRecord) -> None:
    """Refuse to resume a run that is still running or already succeeded.

    Raises:
        TransitionRefused: saying which, and what to do.
    """
    if run.status == RUNNING:
        raise TransitionRefused(
            f"run {run.id} is still running (pid {run.pid} on {run.host}); stop it first"
        )
    if run.status == SUCCEEDED:
        raise TransitionRefused(f"run {run.id} already succeeded; there is nothing to resume")


def resumed(run: RunRecord, checkpoint_step: int) -> StatusChange:
    """A stopped, cancelled or crashed run continues in this process from a checkpoint.

    Raises:
        TransitionRefused: the run is still running, or already succeeded.
    """
    ensure_resumable(run)
    reason = f"resumed from the checkpoint at step {checkpoint_step}"
    return _change(RUNNING, reason, {QUEUED, FAILED, CANCELLED}, run.status)


def attempt_starting(attempt: int, pid: int, current: RunStatus | None = None) -> StatusChange:
    """The scheduler started worker ``pid`` for attempt ``attempt`` of a queued job."""
    return _change(QUEUED, f"starting attempt {attempt} (worker pid {pid})", {QUEUED}, current)


def could_not_start(error: BaseException, current: RunStatus | None = None) -> StatusChange:
    """No worker process could be started for a queued job."""
    return _change(FAILED, f"could not start a worker process: {error}", {QUEUED}, current)


# --- a run ends --------------------------------------------------------------------------


def completion_reason(
    stop_reason: str | None, epochs_run: int, restored_epoch: int | None = None
) -> str:
    """Why training ended well: the callback that stopped it, or all epochs ran."""
    reason = stop_reason or f"completed {epochs_run} epoch(s)"
    if restored_epoch is not None:
        reason += f"; kept the weights of epoch {restored_epoch}"
    return reason


def succeeded(reason: str, current: RunStatus | None = None) -> StatusChange:
    """Training ended and the model is saved (``reason``: :func:`completion_reason`)."""
    return _change(SUCCEEDED, reason, {RUNNING}, current)


def failed(error: BaseException, current: RunStatus | None = None) -> StatusChange:
    """The run raised ``error``: a user's mistake says what it is; a bug says where."""
    if isinstance(error, UserError):
        reason = str(error)
    else:
        last = traceback.extract_tb(error.__traceback__)[-1:]
        where = f" at {Path(last[0].filename).name}:{last[0].lineno}" if last else ""
        reason = f"{type(error).__name__}: {error}{where}"
    return _change(FAILED, reason, {RUNNING}, current)


def interrupted(current: RunStatus | None = None) -> StatusChange:
    """A second Ctrl-C (or SIGTERM) interrupted the run at once, without a checkpoint."""
    return _change(CANCELLED, "interrupted (Ctrl-C twice)", {RUNNING}, current)


def stopped(
    run_id: int, stop_reason: str, steps: int, current: RunStatus | None = None
) -> StatusChange:
    """A run in the foreground stopped at a checkpoint (a first Ctrl-C, SIGTERM, a budget)."""
    reason = f"{stop_reason} at step {steps}; continue with 'athanor runs resume {run_id}'"
    return _change(CANCELLED, reason, {RUNNING}, current)


def stop_point(steps: int, checkpoint: str | None) -> str:
    """Where a job stopped: ``at step 40 (checkpoint step-000000040)``."""
    saved = f" (checkpoint {checkpoint})" if checkpoint is not None else " (no checkpoint)"
    return f"at step {steps}{saved}"


def cancelled_on_request(
    run_id: int, asked: str, where: str, current: RunStatus | None = None
) -> StatusChange:
    """A job's worker stopped as a user asked (``where``: :func:`stop_point`)."""
    reason = f"{asked}: stopped {where}; 'athanor runs resume {run_id}' continues it"
    return _change(CANCELLED, reason, {RUNNING}, current)


def preempted(asked: str, where: str, current: RunStatus | None = None) -> StatusChange:
    """A job's worker stopped because the platform preempted it: back to the queue."""
    return _change(QUEUED, f"{asked}: stopped {where}; it resumes from there", {RUNNING}, current)


def cancelled_while_queued(asked: str, current: RunStatus | None = None) -> StatusChange:
    """A job that no worker held yet was cancelled: it ends at once."""
    return _change(CANCELLED, f"{asked} while queued", {QUEUED}, current)


def resubmitted(
    job_id: int, who: str, checkpoint_step: int | None, current: RunStatus | None = None
) -> StatusChange:
    """A user queues a cancelled or failed job again; it continues from its checkpoint.

    Raises:
        TransitionRefused: the job is queued, running or succeeded.
    """
    where = (
        f"from its checkpoint at step {checkpoint_step}"
        if checkpoint_step is not None
        else "from the start (it has no checkpoint)"
    )
    refusal = f"job {job_id} is {current}; only a cancelled or failed job can be resumed"
    reason = f"resumed by {who}; it continues {where}"
    return _change(QUEUED, reason, {CANCELLED, FAILED}, current, refusal)


def orphaned(lease: Lease, current: RunStatus | None = None) -> StatusChange:
    """A run's process on this machine is gone and never said how the run ended."""
    reason = f"its process (pid {lease.pid} on {lease.host}) ended without finishing the run"
    return _change(FAILED, reason, {RUNNING}, current)


# --- a job's worker ends -----------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """What to do with a job whose worker died: restart it or let it fail, and why.

    Attributes:
        restart: queue the job again (it resumes from its newest checkpoint).
        why: the words for the reason, e.g. ``restart 1 of 2`` or
            ``no restarts left (job.max_restarts=0)``.
    """

    restart: bool
    why: str


RestartPolicy = Callable[["JobRecord", str], Decision]
"""Decides for a job whose worker died (the job, how the worker ended) whether it restarts."""


def restart_up_to(max_restarts: int | None = None) -> RestartPolicy:
    """A policy that restarts a job while it has restarts left.

    Args:
        max_restarts: restarts allowed per job; default: the job's own
            ``job.max_restarts``.
    """

    def decide(job: JobRecord, how: str) -> Decision:
        limit = job.max_restarts if max_restarts is None else max_restarts
        key = "job.max_restarts" if max_restarts is None else "max_restarts"
        if job.restarts < limit:
            return Decision(True, f"restart {job.restarts + 1} of {limit}")
        return Decision(False, f"no restarts left ({key}={limit})")

    return decide


DEFAULT_RESTART_POLICY: RestartPolicy = restart_up_to()
"""Restarts a job while ``job.max_restarts`` allows."""


@dataclass(frozen=True)
class AttemptEnd:
    """How a job's attempt ends once its worker is gone.

    Attributes:
        change: the run's new status and reason; ``None`` when the worker recorded the
            run's outcome itself (the job is only released).
        restart: the change is one of the job's restarts.
    """

    change: StatusChange | None
    restart: bool = False


def worker_ended(
    job: JobRecord,
    how: str,
    *,
    checkpoint_step: int | None = None,
    policy: RestartPolicy = DEFAULT_RESTART_POLICY,
) -> AttemptEnd:
    """Decide for a job whose worker (``job.worker_pid``) has ended.

    A worker that ended normally has already recorded its run's outcome (succeeded,
    failed, cancelled, or queued again when preempted): the job is only released. One that
    died without doing so (killed, crashed, silent) ends as it was asked to stop (cancelled,
    or queued again when preempted); otherwise ``policy`` restarts it from its newest
    checkpoint or lets it fail, with the reason.

    Args:
        job: the job as read now (its worker still holds it).
        how: what happened to the worker, e.g. ``"was killed by SIGKILL"``.
        checkpoint_step: the step of the run's newest checkpoint on disk (default: the one
            its summary names).
        policy: restart or fail a job whose worker died (default:
            :data:`DEFAULT_RESTART_POLICY`).
    """
    status, pid = job.status, job.worker_pid
    recorded = status.final or (status == QUEUED and job.stop_request == StopRequest.PREEMPT)
    claimed = status == RUNNING and job.run.pid == pid
    if recorded or not (claimed or status == QUEUED):
        return AttemptEnd(None)
    died = f"its worker (pid {pid} on {job.worker_host or 'this host'}) {how}"
    step = checkpoint_step if checkpoint_step is not None else job.checkpoint_step
    if job.stop_request == StopRequest.CANCEL:
        return AttemptEnd(_change(CANCELLED, f"{job.stop_reason}; {died}", {status}, None))
    if job.stop_request == StopRequest.PREEMPT:
        reason = f"{job.stop_reason}; {died}; it resumes {checkpoint_note(step)}"
        return AttemptEnd(_change(QUEUED, reason, {status}, None))
    decision = policy(job, how)
    if decision.restart:
        reason = f"{died}; {decision.why} resumes {checkpoint_note(step)}"
        return AttemptEnd(_change(QUEUED, reason, {status}, None), restart=True)
    reason = (
        f"{died}; {decision.why}; 'athanor runs resume {job.id}' continues it "
        f"{checkpoint_note(step)}"
    )
    return AttemptEnd(_change(FAILED, reason, {status}, None))
