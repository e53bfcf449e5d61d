"""The arithmetic of estimates on layers whose counts are known by hand."""

from __future__ import annotations

import pytest
from torch import nn

from athanor.nets.estimates import (
    BYTES_PER_VALUE,
    TRAINING_WORK,
    measure_throughput,
    optimizer_slots,
    roofline,
    training_memory,
)
from athanor.nets.summary import summary
from athanor.spec.train import AdamSpec, SGDSpec


def dense() -> nn.Module:
    return nn.Sequential(nn.Linear(100, 10))


def test_training_memory_counts_weights_gradients_adam_state_and_activations() -> None:
    described = summary(dense(), (32, 100))
    memory = training_memory(described, optimizer_slots(AdamSpec()))
    parameters = 100 * 10 + 10
    assert memory.weights == parameters * 4
    assert memory.gradients == parameters * 4
    assert memory.optimizer_state == parameters * 4 * 2  # Adam: two moments
    assert memory.activations == (32 * 10 + 32 * 100) * 4  # output plus the input batch
    assert memory.total == parameters * 16 + 32 * 110 * 4
    assert memory.best_weights == 0 and memory.to_json()["best_weights"] == 0


def test_a_run_that_restores_its_best_epoch_holds_a_copy_of_the_weights() -> None:
    described = summary(dense(), (32, 100))
    plain = training_memory(described, optimizer_slots(AdamSpec()))
    keeping = training_memory(described, optimizer_slots(AdamSpec()), keeps_best=True)
    assert keeping.best_weights == (100 * 10 + 10) * 4 == plain.weights
    assert keeping.total == plain.total + plain.weights
    assert keeping.to_json()["total"] == keeping.total


def test_optimizer_slots_follow_the_optimizer() -> None:
    assert optimizer_slots(SGDSpec()) == 0
    assert optimizer_slots(SGDSpec(momentum=0.9)) == 1
    assert optimizer_slots(AdamSpec()) == 2


def test_roofline_is_compute_bound_for_a_big_matmul_and_memory_bound_for_a_small_one() -> None:
    described = summary(nn.Sequential(nn.Linear(1000, 1000)), (512, 1000))
    flops = 2 * 512 * 1000 * 1000  # multiplications and additions of 512 x 1000 outputs
    peak, bandwidth = 1e12, 1e11
    line = roofline(described, peak, bandwidth, slots=0)
    layer = line.layers[0]
    assert layer.flops == TRAINING_WORK * flops and layer.bound == "compute"
    assert layer.seconds == pytest.approx(TRAINING_WORK * flops / peak)
    update = 1_001_000 * BYTES_PER_VALUE * 3
    assert line.update_seconds == pytest.approx(update / bandwidth)
    assert line.step_seconds(0.5) == pytest.approx(2 * line.seconds)
    small = roofline(summary(nn.Sequential(nn.Linear(1000, 1000)), (1, 1000)), peak, bandwidth, 0)
    assert small.layers[0].bound == "memory"
    assert small.dominant(1) == [
        {
            "layer": "0",
            "share": pytest.approx(small.layers[0].seconds / small.seconds, abs=1e-3),
            "bound": "memory",
        }
    ]


def test_measured_throughput_is_positive() -> None:
    measured = measure_throughput("cpu", budget=0.05)
    assert measured["matmul_flops"] > 1e7 and measured["conv_flops"] > 1e7
    assert measured["bandwidth"] > 1e7
