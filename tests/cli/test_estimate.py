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
    # one step and no validation split: an epoch is the step and the epoch's overhead
    calibration = data["calibration"]
    assert calibration["epoch_overhead_seconds"] > 0  # a checkpoint is written each epoch
    per_epoch = 1 + calibration["epoch_overhead_seconds"] / calibration["seconds_per_step"]
    for device in (here, rented):
        low, expected, high = (device["total_seconds"][k] for k in ("low", "expected", "high"))
        assert 0 < low <= expected <= high
        assert device["epoch_seconds"]["expected"] == pytest.approx(
            device["step_seconds"]["expected"] * per_epoch
        )
    assert {c["provider"] for c in rented["costs"]} >= {"AutoDL", "RunPod"}
    assert data["memory"]["best_weights"] == 0  # no early stopping: no copy of the weights
    assert data["memory"]["total"] == sum(
        data["memory"][k] for k in ("weights", "gradients", "optimizer_state", "activations")
    )


def test_early_stopping_that_restores_the_best_epoch_counts_a_copy_of_the_weights() -> None:
    keeping = ("--set", "train.early_stopping.monitor=train_loss", "--device", "cpu")
    result = athanor("estimate", "xor-mlp", *keeping, "--steps", "1", "--json")
    assert result.returncode == 0, result.stderr
    memory = json.loads(result.stdout)["memory"]
    assert memory["best_weights"] == memory["weights"] > 0
    assert memory["total"] == sum(value for key, value in memory.items() if key != "total")
    shown = athanor("estimate", "xor-mlp", *keeping, "--steps", "1").stdout
    assert "+ best epoch's weights " in shown
    assert "best epoch" not in athanor("estimate", "xor-mlp", "-d", "cpu", "--steps", "1").stdout


def test_estimate_refuses_a_device_without_the_memory() -> None:
    memory = at.estimate("xor-mlp", ["cpu"], steps=1).memory
    fixed = memory["weights"] + memory["gradients"] + memory["optimizer_state"]  # 672 bytes
    assert memory["activations"] > 0  # measured while the steps ran
    home = Path(os.environ["ATHANOR_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    # Tiny Card cannot hold even the weights (counted, not measured: the same every time).
    tiny = fixed / 2 / 2**30
    (home / "devices.yaml").write_text(
        f"devices:\n  - {{id: tiny-card, name: Tiny Card, memory_gib: {tiny:.12f},"
        " bandwidth_gbs: 10, tflops: {fp32: 1}, source: test}\n"
    )
    result = athanor("estimate", "xor-mlp", "--device", "tiny-card", "--steps", "1")
    assert result.returncode == 1
    assert "Tiny Card: does not fit: a training step needs " in result.stdout
    assert "the weights, gradients and optimizer state alone do not fit" in result.stdout
    with pytest.raises(DoesNotFit, match="alone do not fit: make the network smaller$"):
        at.estimate("xor-mlp", ["tiny-card"], steps=1, require_fit=True)


@pytest.mark.parametrize(
    ("capacity", "advice"),
    [
        # 1,000 bytes of weights, gradients and state, 1,000 of activations per sample
        (3_889, "lower train.batch_size to about 2"),
        (1_500, "even one sample's activations do not fit beside the weights"),
        (1_000, "the weights, gradients and optimizer state alone do not fit"),
    ],
)
def test_the_advice_follows_the_room_left_beside_the_fixed_memory(
    capacity: int, advice: str
) -> None:
    from types import SimpleNamespace

    from athanor.api.estimates import _device_estimate

    estimate = _device_estimate(
        "card",
        "Card",
        "test",
        (1.0, 1.0, 1.0),
        1.0,
        1,
        0.0,
        need=5_000,
        capacity=capacity,
        memory=SimpleNamespace(activations=4_000),
        batch_size=4,
        dominant=[],
        costs=[],
    )
    assert not estimate.fits and advice in estimate.advice


def test_prices_lists_the_table_with_sources() -> None:
    result = athanor("estimate", "--prices")
    assert result.returncode == 0, result.stderr
    assert "AutoDL" in result.stdout and "runpod.io/pricing" in result.stdout
    assert "check the source" in result.stdout
