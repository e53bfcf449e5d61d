"""Timing a few real training steps of a network, to calibrate time and memory estimates.

A step is what the training loops do per batch: forward, loss, backward, optimizer step and
the training metrics' update (for a GAN: a discriminator step and a generator step). The batch
has the spec's shapes; its values are random (token ids and class labels are copied from a
real batch so they are in range), and nothing is learned from it. A validation batch is a
forward pass and the metrics' update and computation.

Beside the steps and the validation batches an epoch costs the training metrics'
computation, the epoch's checkpoint and its bookkeeping; they dominate a small network's
epoch, so :func:`time_epoch_overhead` measures them on short epochs of the real trainer. The
memory a step really holds (autograd keeps pre-activations, gates and pooling indices, not
only the layers' outputs) is read while the steps run: the CUDA allocator's peak, or the C
heap's on the CPU.
"""

from __future__ import annotations

import dataclasses
import gc
import itertools
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from athanor.data.batching import LazySplit, TensorSplit
from athanor.data.prepare import Prepared
from athanor.data.schema import Schema
from athanor.spec.train import TrainSpec
from athanor.training.callbacks.base import Callback
from athanor.training.host_memory import HeapPeak, heap_in_use
from athanor.training.losses import build_loss
from athanor.training.metrics import build_metrics
from athanor.training.optimizers import build_optimizer


@dataclass(frozen=True)
class StepTiming:
    """Measured seconds per training step and per evaluation batch, the checkpoint's
    seconds, and the memory a step holds where it can be read."""

    seconds: float
    steps: int
    device: str
    peak_memory: int | None
    """Bytes the step holds at its peak beyond the weights: gradients, optimizer state,
    activations and temporaries (CUDA: the allocator's peak less the weights; CPU: the C
    heap's growth). ``None`` where it cannot be read."""
    eval_seconds: float = 0.0
    """One validation batch: a forward pass in evaluation mode, without gradients, and the
    metrics' update and computation."""
    batch: int = 1
    """Samples in the timed batch."""


def synthetic_batch(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of the shapes and dtypes of ``(x, y)``: random floats, integer values kept."""
    fake_x = torch.randn_like(x) if x.is_floating_point() else x.clone()
    fake_y = torch.randn_like(y) if y.is_floating_point() else y.clone()
    return fake_x, fake_y


def time_training_steps(
    network: nn.Module,
    spec: TrainSpec,
    schema: Schema,
    batch: tuple[torch.Tensor, torch.Tensor],
    device: torch.device,
    steps: int = 5,
    budget: float = 0.5,
) -> StepTiming:
    """The median time of at least ``steps`` training steps on ``batch`` after one warm-up
    step; short steps are repeated until ``budget`` seconds have passed (at most 100), so that
    a busy machine's hiccups do not make the median. Then an evaluation pass and a checkpoint
    of the same network are timed.

    The network is trained in place (copy it first if its weights matter).
    """
    network = network.to(device).train()
    if spec.channels_last:  # as the trainer lays it out: NHWC convolutions
        network.to(memory_format=torch.channels_last)
    x, y = (tensor.to(device) for tensor in batch)
    weights = sum(t.numel() * t.element_size() for t in network.state_dict().values())
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    if hasattr(network, "generator") and hasattr(network, "discriminator"):
        step, evaluate, optimizers = _gan_step(network, spec, x)
    else:
        step, evaluate, optimizers = _supervised_step(network, spec, schema, x, y)
    # A first step outside the measurements: the first call in a process initializes
    # PyTorch's own machinery. The optimizer state it made is dropped, so the steps measured
    # for memory allocate it again, as a run's first step does. Memory and time are measured
    # in separate passes: reading the heap locks the allocator, which would slow the steps.
    step()
    for optimizer in optimizers:
        optimizer.state.clear()
    with HeapPeak() as heap:
        # Enough steps for the sampling thread to catch a short step's transient peak.
        began, repeats = time.perf_counter(), 0
        while repeats < 2 or (time.perf_counter() - began < 0.05 and repeats < 200):
            step()
            repeats += 1
    times = _median_times(step, device, steps, budget)
    if device.type == "cuda":
        peak = max(0, torch.cuda.max_memory_allocated(device) - weights)
    else:
        peak = heap.growth
    network.eval()
    with torch.no_grad():
        eval_times = _median_times(evaluate, device, max(2, steps // 2), budget / 2)
    network.train()
    return StepTiming(
        seconds=statistics.median(times),
        steps=len(times),
        device=str(device),
        peak_memory=peak,
        eval_seconds=statistics.median(eval_times),
        batch=int(x.shape[0]),
    )


def _median_times(
    run: Callable[[], Any], device: torch.device, steps: int, budget: float
) -> list[float]:
    """Seconds of each call of ``run`` after a first one (which allocates and warms caches):
    at least ``steps``, more while ``budget`` lasts (at most 100)."""
    times: list[float] = []
    began = time.perf_counter()
    index = 0
    while index <= steps or (time.perf_counter() - began < budget and len(times) < 100):
        start = time.perf_counter()
        run()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if index:
            times.append(time.perf_counter() - start)
        index += 1
    return times


def _supervised_step(
    network: nn.Module, spec: TrainSpec, schema: Schema, x: torch.Tensor, y: torch.Tensor
):
    loss_fn = build_loss(spec.loss, schema).to(x.device)
    optimizer = build_optimizer(spec.optimizer, network)
    # The metrics as the loops keep them: updated on every training batch (those reported on
    # training data), and on every validation batch and computed (COCO's evaluation costs a
    # detector's validation more than its forward pass).
    train_metrics = [m for m in build_metrics(spec.metrics, schema) if m.on_training_batches]
    val_metrics = build_metrics(spec.metrics, schema)

    def step() -> None:
        outputs = network(x)
        loss = loss_fn(outputs, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        for metric in train_metrics:
            metric.update(outputs.detach(), y)

    def evaluate() -> None:
        outputs = network(x)
        loss_fn(outputs, y)
        for metric in val_metrics:
            metric.reset()
        for metric in val_metrics:
            metric.update(outputs, y)
        for metric in val_metrics:
            metric.compute()

    return step, evaluate, [optimizer]


def _gan_step(network: nn.Module, spec: TrainSpec, real: torch.Tensor):
    generator, discriminator = network.generator, network.discriminator
    g_opt = build_optimizer(spec.optimizer, generator)
    d_opt = build_optimizer(spec.optimizer, discriminator, lr=spec.gan.discriminator_lr)
    latent = int(network.latent_dim)

    def step() -> None:
        noise = torch.randn(real.shape[0], latent, device=real.device)
        fake = generator(noise)
        real_logits = discriminator(real).reshape(-1)
        fake_logits = discriminator(fake.detach()).reshape(-1)
        d_loss = functional.binary_cross_entropy_with_logits(
            real_logits, torch.ones_like(real_logits)
        ) + functional.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        d_opt.step()
        g_logits = discriminator(fake).reshape(-1)
        g_loss = functional.binary_cross_entropy_with_logits(g_logits, torch.ones_like(g_logits))
        g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        g_opt.step()

    def evaluate() -> None:  # a GAN's loop validates nothing; its epochs end with samples
        generator(torch.randn(real.shape[0], latent, device=real.device))

    return step, evaluate, [g_opt, d_opt]


@dataclass(frozen=True)
class EpochOverhead:
    """What a real trainer's epoch adds to the steps and validation batches timed alone."""

    seconds: float
    step_memory: int | None
    """The C heap's peak while the trainer ran its training steps, above the heap at the fit's
    start (the step's memory with what the trainer keeps beside it: the optimizer's state,
    metric sums, the loss); ``None`` where it cannot be read, and on a GPU."""


class _TrainingStepsHeap(Callback):
    """The C heap's peak while the fit's training steps run, above the heap at the fit's start
    (on a CPU; ``growth`` is ``None`` elsewhere or where the heap cannot be read).

    What a step holds with what the fit keeps from one step to the next (the optimizer's
    state, made by the first step; metric sums). Every step counts, not the first alone: at
    a few kilobytes the allocator's reuse differs from one step to the next.
    """

    def __init__(self, interval: float = 0.001) -> None:
        self.interval = interval
        self.baseline: int | None = None
        self.peak = 0
        self._in_step = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def growth(self) -> int | None:
        return None if self.baseline is None else max(0, self.peak - self.baseline)

    def _read(self) -> None:
        self.peak = max(self.peak, heap_in_use() or 0)

    def _sample(self, ready: threading.Event) -> None:
        heap_in_use()
        ready.set()
        while not self._done.wait(self.interval):
            if self._in_step.is_set():
                self._read()

    def on_fit_start(self, trainer, state) -> None:
        if trainer.device.type != "cpu" or heap_in_use() is None:
            return
        # The baseline once the sampling thread runs (what starting it allocated is not the
        # steps') and the garbage of preparing the data is collected (freed during a step, it
        # would hide a part of what the step holds).
        gc.collect()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(ready,), daemon=True)
        self._thread.start()
        ready.wait()
        self.baseline = self.peak = heap_in_use() or 0

    def on_batch_start(self, trainer, state) -> None:
        self._in_step.set()

    def on_batch_end(self, trainer, state, loss) -> None:
        if self.baseline is not None:
            self._read()
        self._in_step.clear()

    def on_fit_end(self, trainer, state) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None


def time_epoch_overhead(
    network: nn.Module,
    spec: TrainSpec,
    prepared: Prepared,
    timing: StepTiming,
    *,
    seed: int = 0,
    callbacks: Sequence[Callback] = (),
) -> EpochOverhead:
    """Seconds an epoch takes beyond its training steps and its validation batches: the
    training metrics' computation, the epoch's checkpoint (where the spec keeps them),
    ``callbacks`` (a run's: the store's bookkeeping, its task's samples).

    Four epochs of one training batch and one validation batch (sixteen where they take
    milliseconds) run in the real :class:`Trainer`. An epoch, from the end of the one before
    (whose checkpoint it includes) to its own end, less the step and the validation batch
    ``timing`` measured, is the overhead (never negative); the median of all but the first.
    The heap's peak during the steps is read. The network is trained in place.
    """
    from athanor.training.trainer import Trainer

    ends: list[float] = []
    heap = _TrainingStepsHeap()

    class EpochClock(Callback):
        def on_epoch_end(self, trainer, state, metrics) -> None:
            ends.append(time.perf_counter())

    batch = min(spec.batch_size, len(prepared.train))
    val = min(spec.eval_batch_size, len(prepared.val)) if prepared.val is not None else 0
    cut = dataclasses.replace(
        prepared,
        train=_first(prepared.train, batch),
        val=_first(prepared.val, val) if val else None,
        test=None,
        windows={
            name: windows.take(np.arange(batch if name == "train" else val))
            for name, windows in prepared.windows.items()
            if name == "train" or (name == "val" and val)
        },
        _on_device={},
    )
    # The median of several epochs, so that one slow write does not make a small network's
    # overhead; sixteen where an epoch takes milliseconds and its noise is a large share.
    per_sample = timing.eval_seconds / timing.batch
    epochs = 16 if timing.seconds + val * per_sample < 0.02 else 4
    short = spec.model_copy(update={"epochs": epochs, "compile": False, "early_stopping": None})
    with tempfile.TemporaryDirectory(prefix="athanor-calibration-") as folder:
        trainer = Trainer(
            short,
            seed=seed,
            # the heap first, around the others' work; the clock last, after it
            callbacks=[heap, *callbacks, EpochClock()],
            checkpoint_dir=Path(folder) / "ckpt",
        )
        try:
            trainer.fit(network, cut)
        finally:  # a fit that failed has not ended the sampling
            heap.on_fit_end(trainer, trainer.state)
    gap = statistics.median(later - earlier for earlier, later in itertools.pairwise(ends))
    return EpochOverhead(
        seconds=max(0.0, gap - timing.seconds - val * per_sample),
        step_memory=heap.growth,
    )


def _first(split: TensorSplit | LazySplit, count: int) -> TensorSplit | LazySplit:
    """The first ``count`` samples of a split."""
    if isinstance(split, LazySplit):
        targets = None if split.targets is None else split.targets[:count]
        return LazySplit(split.load, targets, split.transform, count)
    if split.y is split.x:
        return TensorSplit(split.x[:count], split.x[:count])
    return TensorSplit(split.x[:count], split.y[:count])
