"""Timing and memory of a few real training steps, and an epoch's overhead."""

from __future__ import annotations

import time

import torch

from athanor.data.prepare import prepare
from athanor.data.schema import Schema
from athanor.nets.builder import build_network
from athanor.spec.examples import resolve_spec_path
from athanor.spec.loading import load_spec
from athanor.training.calibration import (
    StepTiming,
    synthetic_batch,
    time_epoch_overhead,
    time_training_steps,
)
from athanor.training.host_memory import HeapPeak, heap_in_use


def test_heap_peak_sees_a_tensor_allocated_and_freed_inside_the_block() -> None:
    if heap_in_use() is None:  # not glibc: nothing can be measured
        assert HeapPeak().growth is None
        return
    with HeapPeak() as heap:
        block = torch.ones(16 * 2**20 // 4)  # 16 MiB, written so the pages are real
        time.sleep(0.2)  # held long enough for the sampling thread to run on a busy machine
        del block
    assert heap.growth is not None and heap.growth >= 16 * 2**20


def _xor():
    spec = load_spec(resolve_spec_path("xor-mlp"))
    prepared = prepare(spec.data, spec.seed)
    return spec, prepared


def _wide(schema: Schema, *widths: int) -> torch.nn.Module:
    hidden = ",".join(str(width) for width in widths)
    spec = load_spec(resolve_spec_path("xor-mlp"), [f"model.hidden=[{hidden}]"])
    return build_network(spec.model, schema, seed=0)


def test_measured_step_memory_grows_with_the_activations_it_holds() -> None:
    spec, prepared = _xor()
    x, y = next(iter(prepared.batches("train", 4).epoch(0, 0)))
    wide_batch = (x.repeat(256, 1), y.repeat(256))  # 1024 samples
    small = time_training_steps(
        _wide(prepared.schema, 512), spec.train, prepared.schema, (x, y), torch.device("cpu"), 2
    )
    large = time_training_steps(
        _wide(prepared.schema, 512),
        spec.train,
        prepared.schema,
        synthetic_batch(*wide_batch),
        torch.device("cpu"),
        2,
    )
    assert small.seconds > 0 and small.eval_seconds > 0 and (small.batch, large.batch) == (4, 1024)
    if small.peak_memory is None:
        return
    # 1020 more samples through a 512-wide hidden layer keep at least 1020 * 512 floats
    assert large.peak_memory - small.peak_memory >= 1020 * 512 * 4


def test_epoch_overhead_is_measured_on_the_real_trainer() -> None:
    spec, prepared = _xor()
    network = _wide(prepared.schema, 256)
    # a timing that claims steps cost nothing leaves the whole second epoch as overhead,
    # which a real Trainer epoch (a step, metrics, a checkpoint) always takes time for
    free = StepTiming(seconds=0.0, steps=1, device="cpu", peak_memory=None, batch=4)
    before = [p.detach().clone() for p in network.parameters()]
    whole = time_epoch_overhead(network, spec.train, prepared, free, seed=spec.seed)
    assert whole.seconds > 0
    # the trainer's first step grows the heap by at least the 256-wide layer's gradients
    if whole.step_memory is not None:
        assert whole.step_memory >= 256 * 2 * 4
    # a step timed as slower than any epoch leaves nothing, never a negative overhead
    slow = StepTiming(seconds=60.0, steps=1, device="cpu", peak_memory=None, batch=4)
    overhead = time_epoch_overhead(network, spec.train, prepared, slow, seed=spec.seed)
    assert overhead.seconds == 0.0
    assert any(not torch.equal(a, b) for a, b in zip(before, network.parameters(), strict=True))


def test_a_runs_own_callbacks_are_part_of_the_overhead() -> None:
    """What a run's callbacks do at an epoch's end (the store's writes, samples) is counted:
    a callback that takes 0.3 s per epoch adds at least 0.3 s."""
    from athanor.training.callbacks.base import Callback

    class Slow(Callback):
        def on_epoch_end(self, trainer, state, metrics) -> None:
            time.sleep(0.3)

    spec, prepared = _xor()
    network = _wide(prepared.schema, 8)
    free = StepTiming(seconds=0.0, steps=1, device="cpu", peak_memory=None, batch=4)
    with_slow = time_epoch_overhead(
        network, spec.train, prepared, free, seed=spec.seed, callbacks=[Slow()]
    )
    assert with_slow.seconds >= 0.3


def test_a_validation_batch_costs_its_metrics_too() -> None:
    """A detector's validation batch is decoded and scored with COCO's evaluation, which costs
    more than the forward pass of a small network: the timed batch includes it."""
    from athanor.data.schema import InputSchema
    from athanor.spec.model import CenterNetSpec
    from athanor.spec.train import TrainSpec

    schema = Schema(
        task="detection", input=InputSchema(kind="image", shape=[1, 32, 32]), classes=["a", "b"]
    )
    boxes = torch.tensor([[[0, 4, 4, 20, 20], [1, 16, 8, 30, 28]]], dtype=torch.float32)
    batch = (torch.rand(16, 1, 32, 32), boxes.repeat(16, 1, 1))
    timings = {}
    for metrics in ([], ["map50", "map"]):
        spec = TrainSpec(loss="centernet", metrics=metrics)
        network = build_network(CenterNetSpec(width=4, depth=3, head_width=8), schema, seed=0)
        timings[len(metrics)] = time_training_steps(
            network, spec, schema, batch, torch.device("cpu"), 2
        ).eval_seconds
    assert timings[2] > 2 * timings[0]
