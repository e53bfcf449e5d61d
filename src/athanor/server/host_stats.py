"""What the platform's machine is using now: CPU, memory, GPUs, and the store's disk space.

CPU and memory come from psutil. GPUs are asked through ``torch.cuda`` only on a machine
whose platform hands out GPUs, so a CPU-only platform never imports PyTorch for this. The
store's size walks ``ATHANOR_HOME``, which can hold many files: it is kept for
:data:`STORAGE_TTL_SECONDS` between walks.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from athanor.jobs.machine import Machine

STORAGE_TTL_SECONDS = 30.0
GB = 1024**3


def _folder_bytes(folder: Path) -> int:
    """Bytes of the regular files under ``folder`` (links are not followed)."""
    total = 0
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
            except OSError:
                continue  # removed while we looked
    return total


class HostStats:
    """Samples the machine's use; one instance per platform.

    Args:
        home: the store folder (``ATHANOR_HOME``) whose size is reported.
        machine: the resources the platform shares (its GPUs are the ones sampled).
    """

    def __init__(self, home: Path, machine: Machine) -> None:
        import psutil

        self.home = home
        self.machine = machine
        self._psutil = psutil
        psutil.cpu_percent(interval=None)  # the first call starts the measuring interval
        self._lock = threading.Lock()
        self._storage: dict[str, Any] | None = None
        self._storage_at = 0.0

    def sample(self) -> dict[str, Any]:
        """CPU, memory, GPU and storage use now (see ``HostStatsOut`` in the API schema)."""
        psutil = self._psutil
        memory = psutil.virtual_memory()
        return {
            "cpu_percent": float(psutil.cpu_percent(interval=None)),
            "cpu_count": psutil.cpu_count() or 1,
            "load_average": [round(x, 2) for x in os.getloadavg()]
            if hasattr(os, "getloadavg")
            else [],
            "memory_total_gb": round(memory.total / GB, 2),
            "memory_used_gb": round((memory.total - memory.available) / GB, 2),
            "memory_percent": float(memory.percent),
            "gpus": self._gpus(),
            "storage": self.storage(),
        }

    def storage(self) -> dict[str, Any]:
        """Bytes the store uses by part, and the free space of its disk (cached briefly)."""
        with self._lock:
            now = time.monotonic()
            if self._storage is None or now - self._storage_at > STORAGE_TTL_SECONDS:
                home = self.home
                artifacts = home / "artifacts"
                parts = {
                    "database": sum(
                        (home / name).stat().st_size
                        for name in ("athanor.db", "athanor.db-wal", "athanor.db-shm")
                        if (home / name).is_file()
                    ),
                    "datasets": _folder_bytes(artifacts / "datasets"),
                    "runs": _folder_bytes(artifacts / "runs"),
                    "models": _folder_bytes(artifacts / "models"),
                    "uploads": _folder_bytes(home / "uploads"),
                    "cache": _folder_bytes(home / "cache"),
                }
                try:
                    disk = self._psutil.disk_usage(str(home))
                    free, total = int(disk.free), int(disk.total)
                except OSError:
                    free = total = 0
                self._storage = {
                    "home": str(home),
                    "used_bytes": sum(parts.values()),
                    "parts": parts,
                    "disk_free_bytes": free,
                    "disk_total_bytes": total,
                }
                self._storage_at = now
            return dict(self._storage)

    def _gpus(self) -> list[dict[str, Any]]:
        if not self.machine.gpus:
            return []
        try:
            import torch

            if not torch.cuda.is_available():
                return []
            found = []
            for index in range(torch.cuda.device_count()):
                free, total = torch.cuda.mem_get_info(index)
                try:
                    utilization: float | None = float(torch.cuda.utilization(index))
                except Exception:  # needs NVML bindings, which are optional
                    utilization = None
                found.append(
                    {
                        "index": index,
                        "name": torch.cuda.get_device_name(index),
                        "memory_used_gb": round((total - free) / GB, 2),
                        "memory_total_gb": round(total / GB, 2),
                        "utilization_percent": utilization,
                    }
                )
            return found
        except Exception:  # a driver problem must not break the overview page
            return []
