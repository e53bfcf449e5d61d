"""What this machine offers to jobs: GPUs, CPU slots and memory."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from athanor.errors import UserError
from athanor.store.lease import this_host


@dataclass(frozen=True)
class Gpu:
    """One GPU the scheduler hands out whole (``index`` as ``CUDA_VISIBLE_DEVICES`` names it)."""

    index: int
    name: str = ""
    memory_gb: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "name": self.name, "memory_gb": self.memory_gb}


@dataclass(frozen=True)
class Node:
    """One node of a cluster: what a single process placed on it can have at most."""

    cpus: float
    gpus: int
    memory_gb: float | None

    def to_json(self) -> dict[str, Any]:
        return {"cpus": self.cpus, "gpus": self.gpus, "memory_gb": self.memory_gb}


@dataclass(frozen=True)
class Machine:
    """The resources the scheduler shares among jobs.

    ``nodes``: where the machine is a cluster (Ray), its nodes; a job's process (each rank
    of a data-parallel job) runs on one of them, so it must fit one node, not only the sum.
    """

    host: str
    gpus: tuple[Gpu, ...]
    cpus: int
    memory_gb: float | None
    nodes: tuple[Node, ...] = ()

    @property
    def gpu_indices(self) -> tuple[int, ...]:
        return tuple(gpu.index for gpu in self.gpus)

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "gpus": [gpu.to_json() for gpu in self.gpus],
            "cpus": self.cpus,
            "memory_gb": self.memory_gb,
            **({"nodes": [node.to_json() for node in self.nodes]} if self.nodes else {}),
        }

    def no_node_fits(self, cpus: float, gpus: int, memory_gb: float | None) -> str | None:
        """Why no node of the cluster can hold one process asking for this much (``None``
        when one can, or when the machine is not a cluster)."""
        if not self.nodes:
            return None
        for node in self.nodes:
            memory_ok = memory_gb is None or node.memory_gb is None or memory_gb <= node.memory_gb
            if cpus <= node.cpus and gpus <= node.gpus and memory_ok:
                return None
        largest = max(self.nodes, key=lambda node: (node.gpus, node.cpus))
        memory = f", {largest.memory_gb:g} GB" if largest.memory_gb is not None else ""
        return (
            f"{cpus:g} CPUs, {gpus} GPUs"
            + (f", {memory_gb:g} GB" if memory_gb is not None else "")
            + f" for one process, and no node of the cluster has that much (the largest: "
            f"{largest.cpus:g} CPUs, {largest.gpus} GPUs{memory})"
        )


def _nvidia_gpus() -> list[Gpu]:
    """The GPUs ``nvidia-smi`` lists (none when it is missing or fails)."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        listing = subprocess.run(
            [
                "nvidia-smi",
                "--query-gpu=index,name,memory.total",
                "--format=csv,noheader,nounits",
            ],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in listing.splitlines():
        parts = [part.strip() for part in line.split(",")]
        if len(parts) >= 3 and parts[0].isdigit():
            try:
                memory = round(float(parts[2]) / 1024, 1)
            except ValueError:
                memory = None
            gpus.append(Gpu(int(parts[0]), parts[1], memory))
    return gpus


def _memory_gb() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1)
    except (ValueError, OSError, AttributeError):
        return None


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


def parse_gpu_option(value: str) -> list[int] | None:
    """``auto`` -> None (detect), ``none`` -> [], ``0,2`` -> [0, 2].

    Raises:
        UserError: anything else.
    """
    text = value.strip().lower()
    if text == "auto":
        return None
    if text in ("none", ""):
        return []
    try:
        indices = [int(part) for part in text.split(",")]
    except ValueError:
        raise UserError(
            f"--gpus {value}: expected auto, none, or GPU indices such as 0,1"
        ) from None
    if any(index < 0 for index in indices) or len(set(indices)) != len(indices):
        raise UserError(f"--gpus {value}: GPU indices are distinct numbers >= 0")
    return indices


def detect_machine(
    gpus: str = "auto", cpus: int | None = None, memory_gb: float | None = None
) -> Machine:
    """The resources to schedule: detected, or as the platform's options say.

    Args:
        gpus: ``auto`` (the GPUs ``nvidia-smi`` lists, restricted to the platform's own
            ``CUDA_VISIBLE_DEVICES`` when set), ``none``, or indices such as ``0,1``.
        cpus: CPU slots (default: the CPUs this process may run on).
        memory_gb: memory to share (default: the machine's physical memory).

    Raises:
        UserError: invalid options.
    """
    chosen = parse_gpu_option(gpus)
    found = {gpu.index: gpu for gpu in _nvidia_gpus()}
    if chosen is None:
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        if visible is not None and all(p.strip().isdigit() for p in visible.split(",") if p):
            allowed = {int(p) for p in visible.split(",") if p.strip()}
            found = {index: gpu for index, gpu in found.items() if index in allowed}
        devices = tuple(found[index] for index in sorted(found))
    else:
        devices = tuple(found.get(index, Gpu(index)) for index in chosen)
    if cpus is not None and cpus < 1:
        raise UserError(f"--cpus {cpus}: at least 1 CPU slot")
    if memory_gb is not None and memory_gb <= 0:
        raise UserError(f"--memory-gb {memory_gb}: must be more than 0")
    return Machine(
        host=this_host(),
        gpus=devices,
        cpus=cpus or _cpu_count(),
        memory_gb=memory_gb if memory_gb is not None else _memory_gb(),
    )
