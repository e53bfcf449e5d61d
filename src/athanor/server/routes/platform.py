"""``/v1/health`` and ``/v1/platform``: is it up, what it has, what is in use."""

from __future__ import annotations

from fastapi import APIRouter

from athanor import __version__
from athanor.server.routes import Context
from athanor.server.schemas import HealthOut, HostStatsOut, PlatformOut

router = APIRouter(prefix="/v1", tags=["platform"])


@router.get("/health", response_model=HealthOut, summary="Health")
def health() -> HealthOut:
    """Answers while the platform serves (no token needed)."""
    return HealthOut(status="ok", version=__version__)


@router.get("/platform", response_model=PlatformOut, summary="The platform")
def platform(context: Context) -> dict:
    """The machine's GPUs, CPU slots and memory, what jobs hold now, and the scheduler."""
    placed = context.store.jobs.placed()
    scheduler = context.scheduler
    return {
        "version": __version__,
        "url": context.url,
        "started_at": context.started_at,
        "machine": context.machine.to_json(),
        "usage": {
            "gpus_in_use": sorted(d for job in placed for d in job.devices),
            "cpus_in_use": sum(job.cpus for job in placed),
            "memory_gb_reserved": sum(job.memory_gb or 0.0 for job in placed),
            "jobs_queued": len(context.store.jobs.queue()),
            "jobs_placed": len(placed),
        },
        "scheduler": {
            "running": bool(scheduler and scheduler.running),
            "passes": scheduler.passes if scheduler else 0,
            "last_error": scheduler.last_error if scheduler else None,
            "executor": scheduler.executor.name if scheduler else "",
        },
    }


@router.get("/platform/stats", response_model=HostStatsOut, summary="The machine's use now")
def platform_stats(context: Context) -> dict:
    """CPU, memory and GPU use of the machine now, and the disk space the store uses."""
    return context.host_stats.sample()
