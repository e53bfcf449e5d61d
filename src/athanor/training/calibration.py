"""Timing a few real training steps of a network, to calibrate time estimates.

A step is what the training loops do per batch: forward, loss, backward, optimizer step (for
a GAN: a discriminator step and a generator step). The batch has the spec's shapes; its
values are random (token ids and class labels are copied from a real batch so they are in
range), and nothing is learned from it.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional

from athanor.data.schema import Schema
from athanor.spec.train import TrainSpec
from athanor.training.losses import build_loss
from athanor.training.optimizers import build_optimizer


@dataclass(frozen=True)
class StepTiming:
    """Measured seconds per training step, and the peak memory where it can be read."""

    seconds: float
    steps: int
    device: str
    peak_memory: int | None  # bytes allocated by PyTorch at the peak (CUDA only)


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
    a busy machine's hiccups do not make the median.

    The network is trained in place (copy it first if its weights matter).
    """
    network = network.to(device).train()
    x, y = (tensor.to(device) for tensor in batch)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    if hasattr(network, "generator") and hasattr(network, "discriminator"):
        step = _gan_step(network, spec, x)
    else:
        step = _supervised_step(network, spec, schema, x, y)
    times: list[float] = []
    began = time.perf_counter()
    index = 0
    while index <= steps or (time.perf_counter() - began < budget and len(times) < 100):
        start = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if index:  # the first step allocates and warms caches
            times.append(time.perf_counter() - start)
        index += 1
    peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    return StepTiming(statistics.median(times), len(times), str(device), peak)


def _supervised_step(
    network: nn.Module, spec: TrainSpec, schema: Schema, x: torch.Tensor, y: torch.Tensor
):
    loss_fn = build_loss(spec.loss, schema).to(x.device)
    optimizer = build_optimizer(spec.optimizer, network)

    def step() -> None:
        loss = loss_fn(network(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


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

    return step
