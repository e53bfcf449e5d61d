"""``athanor jobs list|show|logs|cancel``: jobs on the running platform (its REST API)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from athanor.cli.output import console, duration, errors, print_json, styled_status, table

app = typer.Typer(help="Jobs on the platform: list, show, logs, cancel.", no_args_is_help=True)


def client():
    from athanor.server.client import PlatformClient

    return PlatformClient()


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _resources(job: dict[str, Any]) -> str:
    res = job["resources"]
    parts = [f"{res['cpus']} cpu"]
    if res["gpus"]:
        parts.insert(0, f"{res['gpus']} gpu")
    if res.get("memory_gb"):
        parts.append(f"{res['memory_gb']:g} GB")
    return ", ".join(parts)


def progress_text(job: dict[str, Any]) -> str:
    """``step 120/400 (30%), epoch 2/5, ETA 0:42`` or the queue position."""
    if job["status"] == "queued":
        position = job.get("queue_position")
        return f"#{position} in queue" if position else "starting"
    progress = job.get("progress") or {}
    if progress.get("step") is None:
        return progress.get("phase") or ""
    text = f"step {progress['step']}/{progress.get('total_steps')}"
    if progress.get("fraction") is not None:
        text += f" ({progress['fraction']:.0%})"
    text += f", epoch {progress.get('epoch')}/{progress.get('epochs')}"
    if job["status"] == "running" and progress.get("eta_seconds") is not None:
        text += f", ETA {_clock(progress['eta_seconds'])}"
    return text


@app.command("list")
def list_jobs(
    status: Annotated[str | None, typer.Option(help="Only jobs in this status.")] = None,
    limit: Annotated[int, typer.Option(help="How many jobs, newest first.")] = 20,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List jobs: status, progress or queue position, resources and the reason."""
    jobs = client().call("list_jobs", params={"status": status, "limit": limit})
    if json_output:
        print_json(jobs)
        return
    if not jobs:
        console.print("no jobs yet: 'athanor train SPEC --detach' submits one")
        return
    console.print(
        table(
            None,
            ["id", "name", "status", "progress", "resources", "priority", "reason"],
            [
                (
                    job["id"],
                    job["name"],
                    styled_status(job["status"]),
                    progress_text(job),
                    _resources(job),
                    job["priority"],
                    (job["wait_reason"] or job["reason"])[:70],
                )
                for job in jobs
            ],
        )
    )


@app.command("show")
def show_job(
    job_id: Annotated[int, typer.Argument(help="The job's id (see 'athanor jobs list').")],
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a job: status and reason, why it waits, its worker, progress and attempts."""
    job = client().call("get_job", job_id=job_id)
    if json_output:
        print_json(job)
        return
    console.print(f"[bold]job {job['id']}[/bold] {job['name']}  {styled_status(job['status'])}")
    console.print(f"  reason: {job['reason']}")
    if job["wait_reason"]:
        console.print(f"  waiting: #{job['queue_position']} in queue; {job['wait_reason']}")
    console.print(
        f"  resources: {_resources(job)}; priority {job['priority']}; attempt "
        f"{job['attempt']}, restarts {job['restarts']}/{job['max_restarts']}; submitted by "
        f"{job['submitted_by']}"
    )
    progress = progress_text(job)
    if progress and job["status"] != "queued":
        console.print(f"  progress: {progress}")
    metrics = (job.get("progress") or {}).get("metrics") or {}
    if metrics:
        console.print(
            "  last epoch: "
            + "  ".join(f"{k} {v:.4f}" for k, v in metrics.items() if isinstance(v, float))
        )
    if job["worker"]:
        worker = job["worker"]
        gpus = ", ".join(str(d) for d in job["devices"]) or "none"
        console.print(
            f"  worker: pid {worker['pid']} on {worker['host']}, GPUs {gpus}, heartbeat "
            f"{worker['heartbeat_age_seconds']} s ago"
        )
    if job["duration_seconds"] is not None:
        console.print(f"  took: {duration(job['duration_seconds'])}")
    for attempt in job["attempts"]:
        console.print(
            f"  attempt {attempt['attempt']}: pid {attempt.get('pid')}, "
            f"{attempt.get('outcome', 'running')} {attempt.get('reason', '')}".rstrip()
        )
    console.print(f"  logs: athanor jobs logs -f {job['id']}")


@app.command("logs")
def job_logs(
    job_id: Annotated[int, typer.Argument(help="The job's id.")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing until the job ends.")
    ] = False,
) -> None:
    """Print a job's log (its workers' output); with -f, follow it live.

    With -f the exit status says how the job ended: 0 succeeded, 1 otherwise.
    """
    platform = client()
    if not follow:
        offset = 0
        while True:
            chunk = platform.call("read_job_log", params={"offset": offset}, job_id=job_id)
            sys.stdout.write(chunk["text"])
            if chunk["next_offset"] <= offset or chunk["next_offset"] >= chunk["size"]:
                break
            offset = chunk["next_offset"]
        sys.stdout.flush()
        return
    final: dict[str, Any] = {}
    for event in platform.follow_log(job_id):
        if event.kind == "log":
            sys.stdout.write(event.data + "\n")
            sys.stdout.flush()
        elif event.kind == "state":
            state = json.loads(event.data)
            errors.print(f"[dim]job {job_id} {state['status']}: {state['reason']}[/dim]")
        elif event.kind == "end":
            final = json.loads(event.data)
    if final.get("status") != "succeeded":
        raise typer.Exit(1)


@app.command("cancel")
def cancel_job(
    job_id: Annotated[int, typer.Argument(help="The job's id.")],
) -> None:
    """Cancel a job: a queued one ends at once; a running one saves a checkpoint and stops
    after its current step (killed after its job.stop_timeout)."""
    job = client().call("cancel_job", job_id=job_id)
    if job["status"] == "cancelled":
        console.print(f"job {job_id} cancelled: {job['reason']}")
    else:
        console.print(
            f"job {job_id} is stopping (a checkpoint is saved first); "
            f"'athanor jobs show {job_id}' tells when it has"
        )
