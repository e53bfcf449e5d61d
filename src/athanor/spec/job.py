"""How a run is executed as a job on the platform: resources, priority, restarts, stopping."""

from __future__ import annotations

from pydantic import Field

from athanor.spec.base import StrictModel


class ResourcesSpec(StrictModel):
    """What a job needs while it runs; the scheduler starts it only when all of it is free."""

    gpus: int = Field(default=0, ge=0, le=64, description="Whole GPUs (the job sees only these).")
    cpus: int = Field(
        default=1, ge=1, le=1024, description="CPU slots (also the job's thread count)."
    )
    memory_gb: float | None = Field(
        default=None,
        gt=0,
        le=65536,
        description="Memory reserved for the job in GB (default: none reserved).",
    )


class JobSpec(StrictModel):
    """Scheduling of a run submitted as a job (``athanor train --detach``, ``POST /v1/jobs``).

    Ignored when a run is trained in the foreground.
    """

    resources: ResourcesSpec = Field(default_factory=ResourcesSpec)
    priority: int = Field(
        default=0,
        ge=-100,
        le=100,
        description="Higher runs first; jobs of equal priority run in submission order.",
    )
    max_restarts: int = Field(
        default=0,
        ge=0,
        le=100,
        description="Times the job is restarted from its last checkpoint after its worker died.",
    )
    stop_timeout: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="Seconds between SIGTERM (checkpoint and stop) and a hard kill.",
    )
