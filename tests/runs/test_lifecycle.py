"""The run/job lifecycle as pure decisions: statuses, allowed changes, reasons, restarts.

No store and no process here: records are built as plain values.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from athanor.errors import Conflict, UserError
from athanor.runs import lifecycle
from athanor.runs.lifecycle import (
    CANCELLED,
    FAILED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    TRANSITIONS,
    Decision,
    TransitionRefused,
)
from athanor.store import JobRecord, Lease, RunRecord, RunStatus, StatusChange, StopRequest

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def run_record(status: RunStatus = RUNNING, **fields: Any) -> RunRecord:
    values: dict[str, Any] = {
        "id": 7,
        "name": "r",
        "status": status,
        "status_reason": "",
        "spec": {},
        "dataset": "digits",
        "created_at": NOW,
        "started_at": NOW,
        "finished_at": None,
        "heartbeat_at": NOW,
        "host": "box",
        "pid": 100,
        "summary": {},
    }
    return RunRecord(**{**values, **fields})


def job_record(status: RunStatus = RUNNING, **fields: Any) -> JobRecord:
    run_fields = {key: fields.pop(key) for key in ("pid", "summary") if key in fields}
    values: dict[str, Any] = {
        "run": run_record(status, **run_fields),
        "priority": 0,
        "resources": {},
        "max_restarts": 0,
        "restarts": 0,
        "attempt": 1,
        "stop_timeout": 30.0,
        "submitted_by": "t",
        "submitted_at": NOW,
        "wait_reason": "",
        "worker_pid": 100,
        "worker_host": "box",
        "devices": [],
        "placed_at": NOW,
        "heartbeat_at": NOW,
        "stop_request": None,
        "stop_reason": "",
        "stop_requested_at": None,
        "stop_signalled_at": None,
    }
    return JobRecord(**{**values, **fields})


# --- the table ---------------------------------------------------------------------------


def test_every_status_has_its_transitions_and_final_ones_lead_only_to_a_resume() -> None:
    assert set(TRANSITIONS) == set(RunStatus)
    assert TRANSITIONS[SUCCEEDED] == frozenset()
    for final in (FAILED, CANCELLED):
        assert TRANSITIONS[final] == {RUNNING, QUEUED}
    assert TRANSITIONS[QUEUED] == {RUNNING, QUEUED, CANCELLED, FAILED}
    assert TRANSITIONS[RUNNING] == {SUCCEEDED, FAILED, CANCELLED, QUEUED}
    assert lifecycle.allowed("running", "succeeded") and not lifecycle.allowed(SUCCEEDED, RUNNING)
    assert not lifecycle.allowed(RUNNING, RUNNING)


def _events() -> list[StatusChange]:
    """One change of every event."""
    job = job_record()
    return [
        lifecycle.started(),
        lifecycle.resumed(run_record(FAILED), 3),
        lifecycle.attempt_starting(1, 5),
        lifecycle.could_not_start(OSError("no fork")),
        lifecycle.succeeded("completed 1 epoch(s)"),
        lifecycle.failed(ValueError("x")),
        lifecycle.interrupted(),
        lifecycle.stopped(1, "stopped by SIGINT", 3),
        lifecycle.cancelled_on_request(1, "cancelled by me", "at step 3 (no checkpoint)"),
        lifecycle.preempted("preempted: bye", "at step 3 (no checkpoint)"),
        lifecycle.cancelled_while_queued("cancelled by me"),
        lifecycle.resubmitted(1, "me", None),
        lifecycle.orphaned(Lease(5, "box")),
        lifecycle.worker_ended(job, "is gone").change,
    ]


def test_every_event_goes_only_where_the_table_allows() -> None:
    for change in _events():
        assert change is not None and change.expected
        for source in change.expected:
            assert lifecycle.allowed(source, change.status), change
        assert change.reason


@pytest.mark.parametrize(
    ("event", "refused_from"),
    [
        (lambda current: lifecycle.started(current=current), RUNNING),
        (lambda current: lifecycle.attempt_starting(2, 9, current), SUCCEEDED),
        (lambda current: lifecycle.could_not_start(OSError("x"), current), RUNNING),
        (lambda current: lifecycle.succeeded("done", current), QUEUED),
        (lambda current: lifecycle.failed(ValueError("x"), current), CANCELLED),
        (lambda current: lifecycle.interrupted(current), SUCCEEDED),
        (lambda current: lifecycle.stopped(1, "stopped", 2, current), QUEUED),
        (lambda current: lifecycle.cancelled_on_request(1, "me", "there", current), FAILED),
        (lambda current: lifecycle.preempted("p", "there", current), QUEUED),
        (lambda current: lifecycle.cancelled_while_queued("me", current), RUNNING),
        (lambda current: lifecycle.orphaned(Lease(1, "h"), current), QUEUED),
    ],
)
def test_an_event_is_refused_from_a_status_it_cannot_happen_in(event, refused_from) -> None:
    change = event(None)
    for source in change.expected:
        assert event(source) == change
    with pytest.raises(TransitionRefused, match=f"a {refused_from} run cannot become"):
        event(refused_from)


def test_a_refusal_is_a_conflict_a_user_can_read() -> None:
    assert issubclass(TransitionRefused, Conflict) and issubclass(TransitionRefused, UserError)


# --- the reasons users read --------------------------------------------------------------


def test_a_worker_starts_or_resumes_a_queued_run() -> None:
    assert lifecycle.started() == StatusChange(RUNNING, "started", frozenset({QUEUED}))
    assert lifecycle.started(120).reason == "resumed from the checkpoint at step 120"
    assert lifecycle.attempt_starting(2, 4321).reason == "starting attempt 2 (worker pid 4321)"
    assert lifecycle.could_not_start(OSError("no fork")).reason == (
        "could not start a worker process: no fork"
    )


def test_a_foreground_resume_refuses_a_running_or_succeeded_run() -> None:
    change = lifecycle.resumed(run_record(CANCELLED), 40)
    assert change.status == RUNNING
    assert change.reason == "resumed from the checkpoint at step 40"
    assert change.expected == {QUEUED, FAILED, CANCELLED}
    with pytest.raises(UserError, match=r"run 7 is still running \(pid 100 on box\); stop it"):
        lifecycle.resumed(run_record(RUNNING), 40)
    with pytest.raises(UserError, match="run 7 already succeeded; there is nothing to resume"):
        lifecycle.resumed(run_record(SUCCEEDED), 40)
    for status in (QUEUED, FAILED, CANCELLED):
        lifecycle.ensure_resumable(run_record(status))
    with pytest.raises(TransitionRefused, match="still running"):
        lifecycle.ensure_resumable(run_record(RUNNING))


def test_how_a_run_ends() -> None:
    assert lifecycle.completion_reason(None, 3) == "completed 3 epoch(s)"
    assert lifecycle.completion_reason("early stopping: val_loss", 3, 2) == (
        "early stopping: val_loss; kept the weights of epoch 2"
    )
    assert lifecycle.succeeded("completed 3 epoch(s)").status == SUCCEEDED
    assert lifecycle.interrupted() == StatusChange(
        CANCELLED, "interrupted (Ctrl-C twice)", frozenset({RUNNING})
    )
    assert lifecycle.stopped(4, "stopped by SIGTERM", 30).reason == (
        "stopped by SIGTERM at step 30; continue with 'athanor runs resume 4'"
    )


def test_a_failure_says_what_a_user_did_wrong_or_where_a_bug_is() -> None:
    assert lifecycle.failed(UserError("data.split: leaves no training samples")).reason == (
        "data.split: leaves no training samples"
    )
    assert lifecycle.failed(RuntimeError("boom")).reason == "RuntimeError: boom"
    try:
        {}["missing"]
    except KeyError as error:
        reason = lifecycle.failed(error).reason
    assert reason.startswith("KeyError: 'missing' at test_lifecycle.py:")
    assert lifecycle.failed(RuntimeError("boom")).status == FAILED


def test_a_job_stopped_on_request_is_cancelled_or_queued_again() -> None:
    where = lifecycle.stop_point(30, "step-000000030")
    assert where == "at step 30 (checkpoint step-000000030)"
    assert lifecycle.stop_point(3, None) == "at step 3 (no checkpoint)"
    cancelled = lifecycle.cancelled_on_request(9, "cancelled by local", where)
    assert cancelled.status == CANCELLED
    assert cancelled.reason == (
        "cancelled by local: stopped at step 30 (checkpoint step-000000030); "
        "'athanor runs resume 9' continues it"
    )
    preempted = lifecycle.preempted("preempted: the platform is shutting down", where)
    assert preempted.status == QUEUED and preempted.expected == {RUNNING}
    assert preempted.reason.startswith("preempted: the platform is shutting down: stopped")
    assert preempted.reason.endswith("it resumes from there")
    queued = lifecycle.cancelled_while_queued("cancelled by me")
    assert queued == StatusChange(CANCELLED, "cancelled by me while queued", frozenset({QUEUED}))


def test_a_user_resubmits_only_a_cancelled_or_failed_job() -> None:
    change = lifecycle.resubmitted(3, "local", 80, CANCELLED)
    assert change.status == QUEUED and change.expected == {CANCELLED, FAILED}
    assert change.reason == "resumed by local; it continues from its checkpoint at step 80"
    assert lifecycle.resubmitted(3, "me", None).reason == (
        "resumed by me; it continues from the start (it has no checkpoint)"
    )
    with pytest.raises(Conflict, match="job 3 is succeeded; only a cancelled or failed job"):
        lifecycle.resubmitted(3, "me", None, SUCCEEDED)


def test_an_orphan_names_its_process() -> None:
    change = lifecycle.orphaned(Lease(321, "box"))
    assert change.status == FAILED and change.expected == {RUNNING}
    assert change.reason == "its process (pid 321 on box) ended without finishing the run"


# --- a job's worker ends, and the restart policy -----------------------------------------


def test_the_default_policy_restarts_while_the_job_allows() -> None:
    policy = lifecycle.DEFAULT_RESTART_POLICY
    assert policy(job_record(max_restarts=2, restarts=1), "is gone") == Decision(
        True, "restart 2 of 2"
    )
    assert policy(job_record(max_restarts=2, restarts=2), "is gone") == Decision(
        False, "no restarts left (job.max_restarts=2)"
    )
    capped = lifecycle.restart_up_to(1)
    assert capped(job_record(max_restarts=5, restarts=0), "x").restart
    assert capped(job_record(max_restarts=5, restarts=1), "x") == Decision(
        False, "no restarts left (max_restarts=1)"
    )


def test_a_lost_worker_is_restarted_from_its_checkpoint() -> None:
    job = job_record(max_restarts=1, summary={"checkpoint": {"step": 40}})
    end = lifecycle.worker_ended(job, "was killed by SIGKILL")
    assert end.restart and end.change is not None and end.change.status == QUEUED
    assert end.change.expected == {RUNNING}
    assert end.change.reason == (
        "its worker (pid 100 on box) was killed by SIGKILL; "
        "restart 1 of 1 resumes from its checkpoint at step 40"
    )
    on_disk = lifecycle.worker_ended(job, "is gone", checkpoint_step=80)
    assert on_disk.change.reason.endswith("resumes from its checkpoint at step 80")


def test_a_lost_worker_without_restarts_left_fails_its_job() -> None:
    end = lifecycle.worker_ended(job_record(), "was killed by SIGKILL")
    assert not end.restart and end.change.status == FAILED
    assert end.change.reason == (
        "its worker (pid 100 on box) was killed by SIGKILL; no restarts left "
        "(job.max_restarts=0); 'athanor runs resume 7' continues it from the start "
        "(it had no checkpoint yet)"
    )


def test_a_custom_policy_decides_and_names_why() -> None:
    seen: list[tuple[int, str]] = []

    def only_when_killed(job: JobRecord, how: str) -> Decision:
        seen.append((job.id, how))
        return Decision("SIGKILL" in how, "the operator's rule")

    killed = lifecycle.worker_ended(job_record(), "was killed by SIGKILL", policy=only_when_killed)
    assert killed.restart and "the operator's rule resumes" in killed.change.reason
    crashed = lifecycle.worker_ended(job_record(), "exited with status 1", policy=only_when_killed)
    assert crashed.change.status == FAILED and "; the operator's rule; " in crashed.change.reason
    assert seen == [(7, "was killed by SIGKILL"), (7, "exited with status 1")]


def test_a_lost_worker_that_was_asked_to_stop_ends_as_asked() -> None:
    cancel = job_record(
        max_restarts=5, stop_request=StopRequest.CANCEL, stop_reason="cancelled by me"
    )
    end = lifecycle.worker_ended(cancel, "was killed by SIGKILL")
    assert not end.restart and end.change.status == CANCELLED
    assert end.change.reason == "cancelled by me; its worker (pid 100 on box) was killed by SIGKILL"
    preempt = job_record(stop_request=StopRequest.PREEMPT, stop_reason="preempted: shutdown")
    end = lifecycle.worker_ended(preempt, "was killed by SIGKILL", checkpoint_step=12)
    assert not end.restart and end.change.status == QUEUED
    assert end.change.reason == (
        "preempted: shutdown; its worker (pid 100 on box) was killed by SIGKILL; "
        "it resumes from its checkpoint at step 12"
    )


def test_a_worker_that_died_before_claiming_its_run_is_handled_the_same() -> None:
    end = lifecycle.worker_ended(job_record(QUEUED, pid=None, max_restarts=1), "is gone")
    assert end.restart and end.change.expected == {QUEUED} and end.change.status == QUEUED


def test_an_outcome_the_worker_recorded_is_left_alone() -> None:
    for status in (SUCCEEDED, FAILED, CANCELLED):
        assert lifecycle.worker_ended(job_record(status), "exited with status 0").change is None
    requeued = job_record(QUEUED, stop_request=StopRequest.PREEMPT)
    assert lifecycle.worker_ended(requeued, "exited with status 0").change is None
    # the run is trained by another process now (e.g. resumed in the foreground)
    assert lifecycle.worker_ended(job_record(pid=999), "is gone").change is None
