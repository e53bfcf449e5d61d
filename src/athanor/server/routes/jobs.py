"""``/v1/jobs``: submit, list, show, cancel, and read or follow a job's log."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from athanor.errors import Conflict
from athanor.jobs.logs import MAX_CHUNK, read_log, readable_log
from athanor.runs import lifecycle
from athanor.server.json_safe import plain
from athanor.server.routes import MAX_ID, Context, JobId, errors, principal
from athanor.server.schemas import JobOut, JobSubmit, LogOut, Status
from athanor.store import JobRecord, StopRequest
from athanor.store.checkpoints import CheckpointFolder
from athanor.store.runs import utcnow

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

KEEPALIVE_SECONDS = 15.0
SSE_EVENT = {  # one event of the stream (OpenAPI 3.2's way to describe text/event-stream)
    "type": "object",
    "properties": {
        "event": {"type": "string", "enum": ["log", "state", "progress", "end"]},
        "data": {"type": "string"},
        "id": {"type": "string"},
    },
    "required": ["event", "data"],
}
POLL_SECONDS = 0.25


def job_view(job: JobRecord, positions: dict[int, int]) -> JobOut:
    """A job as the API shows it, with its place in the queue."""
    run = job.run
    now = utcnow()
    worker = None
    if job.worker_pid is not None:
        age = (now - job.heartbeat_at).total_seconds() if job.heartbeat_at else None
        worker = {
            "pid": job.worker_pid,
            "host": job.worker_host,
            "heartbeat_at": job.heartbeat_at,
            "heartbeat_age_seconds": None if age is None else round(age, 1),
        }
    return JobOut.model_validate(
        {
            "id": run.id,
            "name": run.name,
            "status": str(run.status),
            "reason": run.status_reason,
            "dataset": run.dataset,
            "created_at": run.created_at,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "duration_seconds": run.duration_s,
            "priority": job.priority,
            "resources": {
                "gpus": job.gpus,
                "cpus": job.cpus,
                "memory_gb": job.memory_gb,
            },
            "max_restarts": job.max_restarts,
            "restarts": job.restarts,
            "attempt": job.attempt,
            "queue_position": positions.get(run.id),
            "wait_reason": job.wait_reason if run.status == "queued" else "",
            "devices": job.devices,
            "worker": worker,
            "progress": plain(job.progress),
            "stop_requested": str(job.stop_request) if job.stop_request else None,
            "submitted_by": job.submitted_by,
            "attempts": plain(job.attempts),
            "summary": plain(run.summary),
            "archived_at": run.archived_at,
        }
    )


def _positions(context: Context) -> dict[int, int]:
    return {job.id: index + 1 for index, job in enumerate(context.store.jobs.queue())}


@router.post(
    "",
    status_code=201,
    response_model=JobOut,
    responses=errors(400, 404, 413),
    summary="Submit a job",
)
def submit_job(body: JobSubmit, request: Request, context: Context) -> JobOut:
    """Check a run spec completely and queue it as a job.

    Refused with 400 and the reason when the spec is invalid (naming its line and key
    path), its dataset is unknown (404), or it asks for more than the platform has.
    """
    from athanor.jobs.submission import submit

    job = submit(
        context.store,
        context.job_machine,
        body.spec,
        body.overrides,
        origin=body.filename,
        submitted_by=principal(request),
        trial=_checked_trial(body.trial),
    )
    if body.estimated_seconds is not None:  # the queue's ETAs read it
        context.store.runs.update(
            job.id, summary={"estimate": {"total_seconds": body.estimated_seconds}}
        )
    context.wake_scheduler()
    return job_view(context.store.jobs.get(job.id), _positions(context))


def _checked_trial(trial: dict | None) -> dict | None:
    """A search's trial, checked (400 naming the key when it is malformed)."""
    if trial is None:
        return None
    from pydantic import ValidationError

    from athanor.errors import UserError
    from athanor.tuning.trials import JobTrial

    try:
        return JobTrial.model_validate(trial).model_dump(mode="json")
    except ValidationError as exc:
        problems = "; ".join(
            f"trial.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise UserError(problems) from None


@router.get("", response_model=list[JobOut], summary="List jobs")
def list_jobs(
    context: Context,
    status: Annotated[Status | None, Query(description="Only jobs in this status.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    archived: Annotated[
        bool, Query(description="Archived (deleted, restorable) jobs instead of the others.")
    ] = False,
) -> list[JobOut]:
    """Jobs, newest first, with their queue position and why they wait."""
    jobs = context.store.jobs.list(status=status, limit=limit, offset=offset, archived=archived)
    positions = _positions(context)
    return [job_view(job, positions) for job in jobs]


@router.get("/{job_id}", response_model=JobOut, responses=errors(404), summary="Show a job")
def get_job(job_id: JobId, context: Context) -> JobOut:
    """A job: status and reason, queue position and wait reason, worker, progress, ETA."""
    return job_view(context.store.jobs.get(job_id), _positions(context))


@router.post(
    "/{job_id}/cancel",
    status_code=202,
    response_model=JobOut,
    responses=errors(404, 409),
    summary="Cancel a job",
)
def cancel_job(job_id: JobId, request: Request, context: Context) -> JobOut:
    """Cancel a job. A queued one ends at once; a running one gets SIGTERM, saves a
    checkpoint and stops after its current step (it is killed after ``job.stop_timeout``).
    """
    reason = f"cancelled by {principal(request)}"
    context.store.jobs.request_stop(
        job_id, StopRequest.CANCEL, reason, unplaced=lifecycle.cancelled_while_queued(reason)
    )
    context.wake_scheduler()
    return job_view(context.store.jobs.get(job_id), _positions(context))


@router.post(
    "/{job_id}/resume",
    status_code=202,
    response_model=JobOut,
    responses=errors(404, 409),
    summary="Resume a job",
)
def resume_job(job_id: JobId, request: Request, context: Context) -> JobOut:
    """Queue a cancelled or failed job again: its next attempt continues the run from its
    newest checkpoint, with every metric it had logged (from the start without one)."""
    if context.store.jobs.get(job_id).run.archived:
        raise Conflict(
            f"job {job_id} is archived: restore it first (POST /v1/runs/{job_id}/restore)"
        )
    step = CheckpointFolder.of_run(context.store.artifacts.run_dir(job_id)).newest_step()
    current = context.store.jobs.get(job_id).status
    change = lifecycle.resubmitted(job_id, principal(request), step, current)
    context.store.jobs.resume(job_id, change)
    context.wake_scheduler()
    return job_view(context.store.jobs.get(job_id), _positions(context))


@router.get(
    "/{job_id}/logs", response_model=LogOut, responses=errors(404), summary="Read a job's log"
)
def read_job_log(
    job_id: JobId,
    context: Context,
    offset: Annotated[
        int, Query(ge=-MAX_CHUNK, le=MAX_ID, description="Byte offset; negative: from the end.")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_CHUNK, description="Most bytes.")] = MAX_CHUNK,
) -> LogOut:
    """Up to ``limit`` bytes of the job's log (its workers' output), in whole lines."""
    job = context.store.jobs.get(job_id)
    final = _ended(job)
    path = readable_log(context.store.artifacts, job)
    chunk = read_log(path, offset, limit, whole=final)
    return LogOut(
        offset=chunk.offset,
        next_offset=chunk.next_offset,
        size=chunk.size,
        text=chunk.text,
        complete=final and chunk.next_offset >= chunk.size,
    )


def _ended(job: JobRecord) -> bool:
    """The job has ended and its worker has exited: its log will not grow any more."""
    return job.status.final and job.worker_pid is None


def _event(kind: str, data: str, event_id: int | None = None) -> str:
    lines = [f"event: {kind}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines += [f"data: {line}" for line in data.replace("\r", "").split("\n")]
    return "\n".join(lines) + "\n\n"


def _state(job: JobRecord, positions: dict[int, int]) -> dict:
    return {
        "status": str(job.status),
        "reason": job.run.status_reason,
        "attempt": job.attempt,
        "queue_position": positions.get(job.id),
        "wait_reason": job.wait_reason if job.status == "queued" else "",
    }


@router.get(
    "/{job_id}/logs/stream",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": (
                "Server-sent events: 'log' (one line; its id is the byte offset after it), "
                "'state' and 'progress' (JSON), and 'end' (JSON state) when the job has "
                "ended and its log is read."
            ),
            "content": {"text/event-stream": {"schema": SSE_EVENT}},
        },
        **errors(404),
    },
    summary="Follow a job's log",
)
async def follow_job_log(
    job_id: JobId,
    context: Context,
    offset: Annotated[int, Query(ge=0, le=MAX_ID, description="Byte offset to start at.")] = 0,
    last_event_id: Annotated[
        str | None, Header(description="Resume after this event (a byte offset).")
    ] = None,
) -> StreamingResponse:
    """The job's log as it is written, with its state and progress, until it ends."""
    jobs = context.store.jobs
    await run_in_threadpool(jobs.get, job_id)  # 404 before the stream starts
    if last_event_id and last_event_id.strip().isdigit():
        offset = int(last_event_id.strip())

    async def events() -> AsyncIterator[str]:
        position = offset
        state: dict | None = None
        progress_at = None
        quiet = 0.0
        while True:
            job = await run_in_threadpool(jobs.get, job_id)
            final = _ended(job)
            path = await run_in_threadpool(readable_log, context.store.artifacts, job)
            chunk = await run_in_threadpool(read_log, path, position, MAX_CHUNK, whole=final)
            if chunk.text:
                lines = chunk.text.rstrip("\n").split("\n")
                for index, line in enumerate(lines):
                    last = index == len(lines) - 1
                    yield _event("log", line, chunk.next_offset if last else None)
                position = chunk.next_offset
                quiet = 0.0
            now_state = _state(job, await run_in_threadpool(_positions, context))
            if now_state != state:
                state = now_state
                yield _event("state", json.dumps(state))
            if job.progress.get("updated_at") != progress_at and job.progress:
                progress_at = job.progress.get("updated_at")
                yield _event("progress", json.dumps(plain(job.progress)))
            if final and chunk.next_offset >= chunk.size:
                yield _event("end", json.dumps(state))
                return
            if context.stopping.is_set():
                return
            if quiet >= KEEPALIVE_SECONDS:
                quiet = 0.0
                yield ": keep-alive\n\n"
            await asyncio.sleep(POLL_SECONDS)
            quiet += POLL_SECONDS

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
