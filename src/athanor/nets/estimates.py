"""The arithmetic of training estimates: memory of one training step and a per-layer roofline.

Memory of a step (float32): the weights, one gradient per trainable parameter, the optimizer's
state (Adam keeps two numbers per parameter, SGD with momentum one), and the activations the
backward pass needs: every layer's output at the batch size plus the input batch (the
summary's ``activation_bytes``). The framework's own memory (PyTorch, CUDA context) is not
counted.

Time of a step on a device: a training step does about three times a forward pass's work
(forward, the gradient of the input, the gradient of the weights). Per layer the step takes
the longer of its FLOPs at the device's peak and its bytes moved at the device's bandwidth
(the roofline), divided by an efficiency (the fraction of the peak really reached, calibrated
from a measurement on this machine), plus a fixed cost per kernel launch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from athanor.nets.summary import NetworkSummary

BYTES_PER_VALUE = 4  # float32 weights, gradients and optimizer state
TRAINING_WORK = 3  # forward + gradient of the input + gradient of the weights
KERNELS_PER_LAYER = 4  # launches per layer and step on a GPU (forward, two backward, one more)
# Per kernel launch on a GPU in eager PyTorch (dispatch included): fast and slow hosts.
LAUNCH_SECONDS = (8e-6, 25e-6)


def optimizer_slots(optimizer: Any) -> int:
    """Numbers of optimizer state kept per trainable parameter for an optimizer spec."""
    kind = getattr(optimizer, "type", str(optimizer))
    if kind in ("adam", "adamw"):
        return 2 + (1 if getattr(optimizer, "amsgrad", False) else 0)
    if kind == "rmsprop":
        return 1 + (1 if getattr(optimizer, "momentum", 0.0) else 0)
    if kind == "adagrad":
        return 1
    return 1 if getattr(optimizer, "momentum", 0.0) else 0


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a training step holds at its peak, by kind."""

    weights: int
    gradients: int
    optimizer_state: int
    activations: int
    best_weights: int = 0
    """A copy of the weights that early stopping keeps, to end with the best epoch's."""

    @property
    def total(self) -> int:
        return (
            self.weights
            + self.gradients
            + self.optimizer_state
            + self.activations
            + self.best_weights
        )

    def to_json(self) -> dict[str, int]:
        return {
            "weights": self.weights,
            "gradients": self.gradients,
            "optimizer_state": self.optimizer_state,
            "activations": self.activations,
            "best_weights": self.best_weights,
            "total": self.total,
        }


def training_memory(
    summary: NetworkSummary, slots: int, *, keeps_best: bool = False
) -> MemoryEstimate:
    """The memory of one training step of the network ``summary`` describes, at the batch
    size of its input shape, with ``slots`` optimizer values per trainable parameter, and a
    copy of the weights where the run ``keeps_best`` (early stopping that restores them)."""
    input_bytes = _numel(summary.input_shape) * (8 if summary.input_dtype == "int64" else 4)
    return MemoryEstimate(
        weights=summary.parameter_bytes,
        gradients=summary.trainable * BYTES_PER_VALUE,
        optimizer_state=summary.trainable * BYTES_PER_VALUE * slots,
        activations=summary.activation_bytes + input_bytes,
        best_weights=summary.parameter_bytes if keeps_best else 0,
    )


@dataclass(frozen=True)
class LayerCost:
    """One layer's share of a training step on a device (at efficiency 1)."""

    name: str
    flops: int
    bytes_moved: int
    seconds: float
    bound: str  # "compute" or "memory"


@dataclass(frozen=True)
class Roofline:
    """A training step's ideal time per layer on a device, and what limits each layer."""

    layers: list[LayerCost]
    update_bytes: int
    update_seconds: float
    launches: int

    @property
    def seconds(self) -> float:
        """The ideal step time (efficiency 1, no launch costs)."""
        return sum(layer.seconds for layer in self.layers) + self.update_seconds

    def step_seconds(self, efficiency: float, launch_seconds: float = 0.0) -> float:
        """The step's time at ``efficiency`` with ``launch_seconds`` per kernel launch."""
        return self.seconds / efficiency + self.launches * launch_seconds

    def dominant(self, count: int = 3) -> list[dict[str, Any]]:
        """The layers that take most of the step: name, share of the time and bound."""
        total = self.seconds or 1.0
        ranked = sorted(self.layers, key=lambda layer: layer.seconds, reverse=True)
        return [
            {"layer": layer.name, "share": round(layer.seconds / total, 3), "bound": layer.bound}
            for layer in ranked[:count]
            if layer.seconds > 0
        ]


def roofline(summary: NetworkSummary, peak_flops: float, bandwidth: float, slots: int) -> Roofline:
    """A training step of ``summary``'s network (at its batch) on a device reaching
    ``peak_flops`` FLOP/s and ``bandwidth`` bytes/s.

    Each layer reads its input and weights and writes its output going forward, and moves
    about twice that going backward; the optimizer reads and writes every trainable value and
    its state once.
    """
    layers = []
    previous = _numel(summary.input_shape) * BYTES_PER_VALUE
    for row in summary.layers:
        flops = TRAINING_WORK * row.ops.flops
        moved = TRAINING_WORK * (row.parameters * BYTES_PER_VALUE + previous + row.activation_bytes)
        compute, memory = flops / peak_flops, moved / bandwidth
        layers.append(
            LayerCost(
                row.name,
                flops,
                moved,
                max(compute, memory),
                "compute" if compute >= memory else "memory",
            )
        )
        previous = row.activation_bytes or previous
    update = summary.trainable * BYTES_PER_VALUE * (3 + 2 * slots)
    return Roofline(layers, update, update / bandwidth, KERNELS_PER_LAYER * len(layers) + 4)


def _numel(shape: tuple[int, ...]) -> int:
    count = 1
    for size in shape:
        count *= int(size)
    return count


def _best_rate(
    work: float, run: Callable[[], Any], sync: Callable[[], Any], budget: float
) -> float:
    """The best of a few timings of ``run`` as work per second (warm-up first)."""
    run()
    sync()
    best = float("inf")
    deadline = time.perf_counter() + budget
    for _ in range(20):
        start = time.perf_counter()
        run()
        sync()
        best = min(best, time.perf_counter() - start)
        if time.perf_counter() > deadline:
            break
    return work / best


def measure_throughput(device: str = "cpu", budget: float = 0.3) -> dict[str, float]:
    """This machine's measured float32 matmul and convolution FLOP/s and copy bandwidth
    (bytes/s) on ``device``, each from the best of a few runs within ``budget`` seconds."""
    target = torch.device(device)
    sync = torch.cuda.synchronize if target.type == "cuda" else (lambda: None)
    size = 1024 if target.type == "cuda" else 384
    a = torch.randn(size, size, device=target)
    b = torch.randn(size, size, device=target)
    with torch.no_grad():
        matmul = _best_rate(2 * size**3, lambda: a @ b, sync, budget)
        images = torch.randn(16, 32, 28, 28, device=target)
        conv = torch.nn.Conv2d(32, 32, 3, padding=1).to(target)
        conv_flops = 2 * 16 * 32 * 28 * 28 * 32 * 9
        convolution = _best_rate(conv_flops, lambda: conv(images), sync, budget)
        source = torch.randn(8 * 1024 * 1024 // 4, device=target)  # 8 MiB
        destination = torch.empty_like(source)
        copy = _best_rate(2 * source.numel() * 4, lambda: destination.copy_(source), sync, budget)
    return {"matmul_flops": matmul, "conv_flops": convolution, "bandwidth": copy}
