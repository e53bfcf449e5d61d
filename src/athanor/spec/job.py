"""How a run is executed as a job on the platform: resources, priority, restarts, stopping."""

from __future__ import annotations

from pydantic import Field, model_validator

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
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description=(
            "Data-parallel training processes (torch.distributed DDP): each trains on its "
            "shard of every batch of train.batch_size samples. With GPUs, one GPU each (gpus "
            "equals workers). Also applies in the foreground (athanor train --workers N)."
        ),
    )

    @model_validator(mode="after")
    def _one_gpu_per_worker(self) -> ResourcesSpec:
        if self.workers > 1 and self.gpus not in (0, self.workers):
            raise ValueError(
                f"gpus: {self.gpus} GPUs for {self.workers} workers; valid: 0 "
                f"(the workers train on CPUs) or {self.workers} (one GPU per worker)"
            )
        return self


class JobSpec(StrictModel):
    """Scheduling of a run submitted as a job (``athanor train --detach``, ``POST /v1/jobs``).

    Ignored when a run is trained in the foreground, except ``resources.workers``.
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
