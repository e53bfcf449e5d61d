"""``athanor estimate`` in real subprocesses: the estimate, the memory-fit refusal, the prices."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import athanor as at
from athanor.api.estimates import DoesNotFit

ATHANOR = [sys.executable, "-m", "athanor.cli"]


def athanor(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([*ATHANOR, *args], capture_output=True, text=True, env=env, timeout=180)


def test_estimate_measures_here_and_prices_a_catalog_gpu() -> None:
    result = athanor(
        "estimate",
        "xor-mlp",
        "--device",
        "cpu",
        "--device",
        "rtx-3090",
        "--epochs",
        "3",
        "--steps",
        "2",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["epochs"] == 3 and data["steps_per_epoch"] == 1
    here, rented = data["devices"]
    assert (here["device"], here["method"], here["fits"]) == ("cpu", "measured", True)
    assert rented["device"] == "rtx-3090" and rented["method"] == "roofline"
    for device in (here, rented):
        low, expected, high = (device["total_seconds"][k] for k in ("low", "expected", "high"))
        assert 0 < low <= expected <= high
        assert device["epoch_seconds"]["expected"] == pytest.approx(
            device["step_seconds"]["expected"]  # one step, no validation split
        )
    assert {c["provider"] for c in rented["costs"]} >= {"AutoDL", "RunPod"}
    assert data["memory"]["total"] == sum(
        data["memory"][k] for k in ("weights", "gradients", "optimizer_state", "activations")
    )


def test_estimate_refuses_a_device_without_the_memory() -> None:
    home = Path(os.environ["ATHANOR_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "devices.yaml").write_text(
        "devices:\n  - {id: tiny-card, name: Tiny Card, memory_gib: 0.0000001,"
        " bandwidth_gbs: 10, tflops: {fp32: 1}, source: test}\n"
        "  - {id: small-card, name: Small Card, memory_gib: 0.00000075,"
        " bandwidth_gbs: 10, tflops: {fp32: 1}, source: test}\n"
    )
    result = athanor("estimate", "xor-mlp", "--device", "tiny-card", "--steps", "1")
    assert result.returncode == 1
    assert "Tiny Card: does not fit: a training step needs 864 bytes" in result.stdout
    assert "make the network smaller" in result.stdout
    # 805 bytes: 672 for weights, gradients and Adam's state leave room for one sample's 48
    with pytest.raises(DoesNotFit, match="lower train.batch_size to about 1$"):
        at.estimate("xor-mlp", ["small-card"], steps=1, require_fit=True)


def test_prices_lists_the_table_with_sources() -> None:
    result = athanor("estimate", "--prices")
    assert result.returncode == 0, result.stderr
    assert "AutoDL" in result.stdout and "runpod.io/pricing" in result.stdout
    assert "check the source" in result.stdout
