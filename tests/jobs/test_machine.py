"""The machine's resources: options and detection."""

from __future__ import annotations

import os

import pytest

from athanor.errors import UserError
from athanor.jobs.machine import detect_machine, parse_gpu_option


def test_gpu_option_forms() -> None:
    assert parse_gpu_option("auto") is None
    assert parse_gpu_option("none") == []
    assert parse_gpu_option("0,2") == [0, 2]
    for bad in ("x", "0,0", "-1"):
        with pytest.raises(UserError, match="--gpus"):
            parse_gpu_option(bad)


def test_declared_resources_override_detection() -> None:
    machine = detect_machine("1,3", cpus=6, memory_gb=12.5)
    assert machine.gpu_indices == (1, 3) and machine.cpus == 6 and machine.memory_gb == 12.5
    detected = detect_machine("none")
    assert detected.gpus == () and detected.cpus == len(os.sched_getaffinity(0))
    assert detected.memory_gb and detected.memory_gb > 0
    with pytest.raises(UserError, match="--cpus 0"):
        detect_machine("none", cpus=0)
