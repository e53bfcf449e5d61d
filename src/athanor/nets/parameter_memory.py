"""The memory a network's parameters need, checked before any of it is allocated.

A spec such as ``- dense: 10000000`` twice asks for 10^14 parameters; allocating them fails
deep in PyTorch's allocator (or makes the machine swap). The builder first builds the network
on the ``meta`` device, where parameters have shapes but no storage, and compares what they
would take (4 bytes each, float32) with ``ATHANOR_MAX_PARAMETER_MB`` or, by default, the
memory available now.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from athanor.errors import ShapeError
from athanor.spec.limits import ENVIRONMENT, current_limits

BYTES_PER_PARAMETER = 4  # float32


def parameter_limit_bytes() -> tuple[int, str]:
    """``(bytes, what they are)``: the configured limit, or the memory available now."""
    configured = current_limits().max_parameter_mb
    if configured is not None:
        return configured * 1024**2, f"{ENVIRONMENT['max_parameter_mb']}={configured}"
    import psutil

    return int(psutil.virtual_memory().available), "the memory available on this machine"


def check_parameter_memory(build: Callable[[], nn.Module]) -> None:
    """Build a network with ``build`` on the meta device and refuse it when its parameters
    need more memory than the limit.

    Args:
        build: makes the network (it must not depend on parameter values).

    Raises:
        ShapeError: naming the parameters, the bytes they need, the largest layers and the
            limit.
    """
    with torch.device("meta"):
        probe = build()
    parameters = sum(p.numel() for p in probe.parameters())
    needed = parameters * BYTES_PER_PARAMETER
    limit, what = parameter_limit_bytes()
    if needed <= limit:
        return
    per_layer = sorted(
        (
            (sum(p.numel() for p in child.parameters()), name)
            for name, child in probe.named_children()
        ),
        reverse=True,
    )
    largest = ", ".join(f"'{name}' ({count:,})" for count, name in per_layer[:2] if count)
    raise ShapeError(
        f"the network has {parameters:,} parameters, which need {format_size(needed)} "
        f"({BYTES_PER_PARAMETER} bytes each) before any training memory, more than "
        f"{format_size(limit)} ({what}); the largest layers are {largest}: make them smaller"
    )


def format_size(size: int) -> str:
    """``1536`` -> ``1.5 KiB``; binary units up to PiB."""
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:,.1f} PiB"
