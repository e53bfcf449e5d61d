"""``athanor doctor``: what this installation sees."""

from __future__ import annotations

import os
import platform
from typing import Annotated, Any

import typer

from athanor.cli.output import console, human_bytes, print_json, table


def collect() -> dict[str, Any]:
    """Versions, devices, store location and size, dataset mirrors."""
    import torch

    from athanor import __version__
    from athanor.settings import current_settings

    settings = current_settings()
    devices: list[dict[str, Any]] = [
        {
            "device": "cpu",
            "name": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
        }
    ]
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            devices.append(
                {
                    "device": f"cuda:{index}",
                    "name": props.name,
                    "memory": human_bytes(props.total_memory),
                }
            )
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append({"device": "mps", "name": "Apple Metal"})
    db_size = (
        settings.db_path.stat().st_size if settings.db_path and settings.db_path.exists() else 0
    )
    from athanor.store.artifacts import ArtifactStore

    artifacts = ArtifactStore(settings.artifacts_dir).size_bytes()
    import shutil

    from athanor.nets.estimates import measure_throughput

    existing = settings.home  # the disk it will be on, before it exists
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    throughput = {
        device["device"]: measure_throughput(device["device"], budget=0.2)
        for device in devices
        if device["device"] == "cpu" or device["device"].startswith("cuda")
    }
    return {
        "athanor": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "cuda_build": torch.version.cuda,
        "devices": devices,
        "athanor_home": str(settings.home),
        "database": settings.db_url,
        "store_size": {"database": db_size, "artifacts": artifacts},
        "artifacts_bucket": _bucket_state(settings.artifacts_url),
        "data_mirrors": [str(m) for m in settings.data_mirrors],
        "throughput": throughput,
        "free_disk": shutil.disk_usage(existing).free,
    }


def _bucket_state(url: str | None) -> dict[str, Any] | None:
    """The artifact bucket's URL and whether it answers, None without one."""
    if url is None:
        return None
    from athanor.errors import UserError
    from athanor.store.bucket import open_bucket

    try:
        open_bucket(url)
    except UserError as exc:
        return {"url": url, "answers": False, "error": str(exc)}
    return {"url": url, "answers": True}


def doctor(
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show Python and torch versions, devices with their measured matmul and convolution
    throughput, ATHANOR_HOME, the store's size and the free disk space."""
    info = collect()
    if json_output:
        print_json(info)
        return
    rows = [
        ("athanor", info["athanor"]),
        ("python", info["python"]),
        ("platform", info["platform"]),
        ("torch", f"{info['torch']} (CUDA build: {info['cuda_build'] or 'none, CPU only'})"),
    ]
    for device in info["devices"]:
        details = ", ".join(f"{k} {v}" for k, v in device.items() if k not in ("device",))
        rows.append((f"device {device['device']}", details))
    size = info["store_size"]
    rows += [
        ("ATHANOR_HOME", info["athanor_home"]),
        ("database", info["database"]),
        (
            "store size",
            f"{human_bytes(size['database'] + size['artifacts'])} "
            f"(database {human_bytes(size['database'])}, "
            f"artifacts {human_bytes(size['artifacts'])})",
        ),
        ("artifact bucket", _bucket_line(info["artifacts_bucket"])),
        ("ATHANOR_DATA_MIRROR", ", ".join(info["data_mirrors"]) or "not set (datasets download)"),
        ("free disk", f"{human_bytes(info['free_disk'])} (where ATHANOR_HOME is)"),
    ]
    for device, measured in info["throughput"].items():
        rows.append(
            (
                f"measured {device}",
                f"matmul {measured['matmul_flops'] / 1e9:,.1f} GFLOP/s, convolution "
                f"{measured['conv_flops'] / 1e9:,.1f} GFLOP/s, copy "
                f"{measured['bandwidth'] / 1e9:,.1f} GB/s (float32, best of a few runs)",
            )
        )
    console.print(table("athanor doctor", ["check", "value"], rows))


def _bucket_line(state: dict[str, Any] | None) -> str:
    if state is None:
        return "none (ATHANOR_ARTIFACTS_URL not set: artifacts stay in ATHANOR_HOME)"
    if state["answers"]:
        return f"{state['url']} (answers)"
    return f"{state['url']} (does not answer: {state['error']})"
