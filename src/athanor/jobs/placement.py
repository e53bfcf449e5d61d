"""Which queued jobs start now, on which GPUs, and why each of the others waits.

The queue is ordered by priority (higher first), then by submission (first in, first out).
Jobs are considered in that order; one that fits in what is free starts. One that does not
fit *reserves* what it can of what is free, so a later, smaller job may use resources the
waiting one does not need (backfilling), but never the ones it is waiting for: a large job
is not starved by a stream of small ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from athanor.jobs.machine import Machine


@dataclass(frozen=True)
class Demand:
    """What a queued job needs."""

    job_id: int
    gpus: int = 0
    cpus: int = 1
    memory_gb: float | None = None
    priority: int = 0


@dataclass(frozen=True)
class Holding:
    """What a placed job holds until its worker ends."""

    job_id: int
    devices: tuple[int, ...] = ()
    cpus: int = 1
    memory_gb: float | None = None
    eta_seconds: float | None = None


@dataclass(frozen=True)
class Placement:
    """A job to start now, with the GPU indices it gets."""

    job_id: int
    devices: tuple[int, ...]


@dataclass
class Plan:
    """The scheduler's decision for one pass over the queue."""

    placements: list[Placement] = field(default_factory=list)
    waiting: dict[int, str] = field(default_factory=dict)


def _count(number: float, unit: str) -> str:
    shown = f"{number:g}" if isinstance(number, float) else str(number)
    return f"{shown} {unit}" + ("" if number == 1 else "s")


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def never_fits(demand: Demand, machine: Machine) -> str | None:
    """Why a job can never start on ``machine`` (``None`` when it can).

    Checked at submission, so that such a job is refused instead of queued forever.
    """
    problems = []
    if demand.gpus > len(machine.gpus):
        have = "none" if not machine.gpus else ", ".join(f"GPU {g.index}" for g in machine.gpus)
        problems.append(
            f"job.resources.gpus: {demand.gpus} asked for, and this platform has "
            f"{len(machine.gpus)} ({have})"
        )
    if demand.cpus > machine.cpus:
        problems.append(
            f"job.resources.cpus: {demand.cpus} asked for, and this platform has "
            f"{machine.cpus} CPU slots"
        )
    if (
        demand.memory_gb is not None
        and machine.memory_gb is not None
        and demand.memory_gb > machine.memory_gb
    ):
        problems.append(
            f"job.resources.memory_gb: {demand.memory_gb:g} asked for, and this platform has "
            f"{machine.memory_gb:g} GB"
        )
    if not problems:
        return None
    return "; ".join(problems) + " (the job could never start; ask for less)"


@dataclass
class _Free:
    gpus: list[int]
    cpus: int
    memory_gb: float | None

    def fits(self, demand: Demand) -> bool:
        memory_ok = (
            demand.memory_gb is None
            or self.memory_gb is None
            or demand.memory_gb <= self.memory_gb + 1e-9
        )
        return len(self.gpus) >= demand.gpus and self.cpus >= demand.cpus and memory_ok

    def take(self, demand: Demand, devices: Sequence[int] | None = None) -> tuple[int, ...]:
        """Remove what ``demand`` needs (at most what is left); returns the GPUs taken."""
        chosen = list(devices) if devices is not None else self.gpus[: demand.gpus]
        self.gpus = [gpu for gpu in self.gpus if gpu not in chosen]
        self.cpus = max(0, self.cpus - demand.cpus)
        if self.memory_gb is not None and demand.memory_gb is not None:
            self.memory_gb = max(0.0, self.memory_gb - demand.memory_gb)
        return tuple(chosen)


def _shortage(demand: Demand, free: _Free, machine: Machine, holdings: Sequence[Holding]) -> str:
    """``needs 1 GPU (0 of 1 free; job 3 holds GPU 0, ~1:20 left)``."""
    parts = []
    holders: list[Holding] = []
    if len(free.gpus) < demand.gpus:
        parts.append(f"{_count(demand.gpus, 'GPU')} ({len(free.gpus)} of {len(machine.gpus)} free)")
        holders += [h for h in holdings if h.devices]
    if free.cpus < demand.cpus:
        parts.append(f"{_count(demand.cpus, 'CPU slot')} ({free.cpus} of {machine.cpus} free)")
        holders += [h for h in holdings if h.cpus]
    if (
        demand.memory_gb is not None
        and free.memory_gb is not None
        and demand.memory_gb > free.memory_gb + 1e-9
    ):
        parts.append(
            f"{demand.memory_gb:g} GB of memory ({free.memory_gb:g} of "
            f"{machine.memory_gb:g} GB unreserved)"
        )
        holders += [h for h in holdings if h.memory_gb]
    unique = list({h.job_id: h for h in holders}.values())
    text = "waiting for " + " and ".join(parts)
    if unique:
        described = []
        for holding in unique[:4]:
            what = []
            if holding.devices:
                what.append(", ".join(f"GPU {d}" for d in holding.devices))
            what.append(_count(holding.cpus, "CPU slot"))
            eta = f", ~{_clock(holding.eta_seconds)} left" if holding.eta_seconds else ""
            described.append(f"job {holding.job_id} ({'; '.join(what)}{eta})")
        more = f" and {len(unique) - 4} more" if len(unique) > 4 else ""
        text += "; held by " + ", ".join(described) + more
    return text


def plan(machine: Machine, holdings: Sequence[Holding], queue: Sequence[Demand]) -> Plan:
    """Decide which queued jobs start now and why the others wait.

    Args:
        machine: what there is.
        holdings: what placed jobs hold.
        queue: queued jobs in start order (priority, then submission).

    Returns:
        The jobs to start with their GPUs, and a reason for every job that waits.
    """
    used_gpus = {device for holding in holdings for device in holding.devices}
    memory = machine.memory_gb
    if memory is not None:
        memory -= sum(holding.memory_gb or 0.0 for holding in holdings)
    unheld = _Free(
        gpus=[gpu for gpu in machine.gpu_indices if gpu not in used_gpus],
        cpus=machine.cpus - sum(holding.cpus for holding in holdings),
        memory_gb=memory,
    )
    available = _Free(list(unheld.gpus), unheld.cpus, unheld.memory_gb)
    result = Plan()
    ahead: list[Demand] = []
    for demand in queue:
        if available.fits(demand):
            devices = available.take(demand)
            unheld.take(demand, devices)
            result.placements.append(Placement(demand.job_id, devices))
            continue
        if unheld.fits(demand):
            names = ", ".join(f"job {d.job_id} (priority {d.priority})" for d in ahead[:3])
            more = f" and {len(ahead) - 3} more" if len(ahead) > 3 else ""
            result.waiting[demand.job_id] = (
                f"waiting behind {names}{more}, queued before it and first in line for "
                "the free resources"
            )
        else:
            result.waiting[demand.job_id] = _shortage(demand, unheld, machine, holdings)
        available.take(demand)  # reserve: later jobs cannot take what this one waits for
        ahead.append(demand)
    return result
