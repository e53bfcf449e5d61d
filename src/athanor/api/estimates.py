"""Time, memory and cost of training a spec, here and on the devices of the catalog:
``athanor.estimate("examples/mnist-cnn.yaml")``.

This machine's devices are measured: a few real training steps on a batch of the spec's
shapes. Other devices get a per-layer roofline (:mod:`athanor.nets.estimates`) whose
efficiency is calibrated by the same measurement: the fraction of this machine's measured
matmul rate the network really reached is assumed on the other device too (within limits),
so the range says how far that assumption can be off.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from athanor.errors import UserError
from athanor.settings import Settings

HEADROOM = 0.9  # a step must fit in this fraction of a device's memory
LOCAL_SPREAD = 0.15  # a measured step time is quoted +-15% (other work on the machine)
OVERHEAD_MATTERS_BELOW = 60.0  # seconds of steps per epoch under which its overhead is timed


class DoesNotFit(UserError):
    """The spec's training step needs more memory than the device has."""


@dataclass
class DeviceEstimate:
    """The estimate on one device."""

    device: str
    name: str
    method: str  # "measured" or "roofline"
    step_seconds: tuple[float, float, float]  # low, expected, high
    epoch_seconds: tuple[float, float, float]
    total_seconds: tuple[float, float, float]
    memory_bytes: int
    device_memory_bytes: int
    fits: bool
    advice: str = ""
    dominant: list[dict[str, Any]] = field(default_factory=list)
    costs: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        def span(values: tuple[float, float, float]) -> dict[str, float]:
            return {"low": values[0], "expected": values[1], "high": values[2]}

        return {
            "device": self.device,
            "name": self.name,
            "method": self.method,
            "step_seconds": span(self.step_seconds),
            "epoch_seconds": span(self.epoch_seconds),
            "total_seconds": span(self.total_seconds),
            "memory_bytes": self.memory_bytes,
            "device_memory_bytes": self.device_memory_bytes,
            "fits": self.fits,
            "advice": self.advice,
            "dominant_layers": self.dominant,
            "costs": self.costs,
        }


@dataclass
class Estimate:
    """Time, memory and cost of training one spec."""

    spec: str
    batch_size: int
    epochs: int
    steps_per_epoch: int
    samples: dict[str, int]
    memory: dict[str, int]
    calibration: dict[str, Any]
    devices: list[DeviceEstimate]
    notes: list[str]

    def device(self, name: str) -> DeviceEstimate:
        """The estimate for the device called ``name``.

        Raises:
            KeyError: no estimate for it.
        """
        for estimate in self.devices:
            if estimate.device == name:
                return estimate
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "batch_size": self.batch_size,
            "epochs": self.epochs,
            "steps_per_epoch": self.steps_per_epoch,
            "samples": self.samples,
            "memory": self.memory,
            "calibration": self.calibration,
            "devices": [device.to_json() for device in self.devices],
            "notes": self.notes,
        }


def _span(value: float, spread: float) -> tuple[float, float, float]:
    return (value * (1 - spread), value, value * (1 + spread))


def _scaled(step: tuple[float, float, float], factor: float) -> tuple[float, float, float]:
    return (step[0] * factor, step[1] * factor, step[2] * factor)


def estimate(
    source: str | Path | Mapping[str, Any],
    devices: Sequence[str] | None = None,
    *,
    epochs: int | None = None,
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
    steps: int = 5,
    require_fit: bool = False,
    settings: Settings | None = None,
) -> Estimate:
    """Estimate the time, peak memory and cost of training a spec.

    Args:
        source: a spec (YAML path, bundled example name or mapping) whose dataset is on
            this machine (it is read for its shapes and sizes, never downloaded).
        devices: ``cpu``, ``cuda`` (this machine's, measured) and catalog ids or names
            (``t4``, ``rtx-3090``, ``a100-80gb``...). Default: this machine's device (the
            GPU when there is one) and every device of the catalog.
        epochs: instead of ``train.epochs``.
        overrides: ``--set`` style overrides of the spec.
        steps: training steps timed on this machine (after one warm-up step).
        require_fit: raise :class:`DoesNotFit` when a device named in ``devices`` (or this
            machine's, by default) lacks the memory.
        settings: store and dataset locations (default: from the environment).

    Raises:
        SpecError: an invalid spec or override.
        DatasetUnavailable: the dataset is not on this machine.
        UserError: an unknown device, or ``cuda`` on a machine without one.
        DoesNotFit: with ``require_fit``, a device without the memory for a step.
    """
    import torch

    from athanor.api.networks import _freeze_as_trained, _prepare_offline
    from athanor.nets.builder import build_network
    from athanor.nets.estimates import (
        LAUNCH_SECONDS,
        measure_throughput,
        optimizer_slots,
        roofline,
        training_memory,
    )
    from athanor.nets.hardware import device_catalog, find_device, local_price, price_table
    from athanor.nets.summary import summary
    from athanor.spec.examples import resolve_spec_path
    from athanor.spec.loading import load_spec
    from athanor.training.calibration import (
        synthetic_batch,
        time_epoch_overhead,
        time_training_steps,
    )
    from athanor.training.losses import uses_single_logit

    if epochs is not None and epochs < 1:
        raise UserError(f"--epochs {epochs}: give a whole number >= 1")
    spec_source = resolve_spec_path(source) if isinstance(source, str | Path) else source
    spec = load_spec(spec_source, overrides)
    epochs = epochs or spec.train.epochs
    prepared = _prepare_offline(spec, settings)
    if uses_single_logit(spec.train.loss, prepared.schema):  # as a run builds it
        prepared.schema = prepared.schema.model_copy(update={"single_logit": True})
    batch_size = spec.train.batch_size
    sizes = {
        name: len(split)
        for name in ("train", "val", "test")
        if (split := getattr(prepared, name)) is not None
    }
    steps_per_epoch = max(1, math.ceil(sizes["train"] / batch_size))
    x, y = next(iter(prepared.batches("train", batch_size).epoch(0, 0)))
    batch = min(batch_size, sizes["train"])
    network = build_network(spec.model, prepared.schema, seed=spec.seed)
    _freeze_as_trained(network, spec.train.freeze)
    # A network's own input: a GAN's is its latent vector, not the images it is trained on.
    shape = (batch, *getattr(network, "input_shape", prepared.schema.input.shape))
    described = summary(network, shape)
    slots = optimizer_slots(spec.train.optimizer)
    stopping = spec.train.early_stopping
    keeps_best = stopping is not None and stopping.restore_best
    memory = training_memory(described, slots, keeps_best=keeps_best)
    if batch < batch_size:  # the memory is that of a full batch
        full = summary(network, (batch_size, *shape[1:]))
        memory = training_memory(full, slots, keeps_best=keeps_best)
    counted_activations = memory.activations

    local = "cuda" if torch.cuda.is_available() else "cpu"
    wanted = list(devices or [local, *device_catalog(settings)])
    explicit = list(devices or [local])
    local_kind = torch.device("cuda" if "cuda" in wanted and torch.cuda.is_available() else "cpu")
    if "cuda" in wanted and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA GPU is visible here; name a catalog GPU instead")
    timing = time_training_steps(
        network, spec.train, prepared.schema, synthetic_batch(x, y), local_kind, steps
    )
    scale = batch_size / batch  # a full batch when the data is smaller
    measured_step = timing.seconds * scale
    throughput = measure_throughput(str(local_kind), budget=0.2)
    ideal_here = roofline(described, throughput["matmul_flops"], throughput["bandwidth"], slots)
    efficiency = min(1.0, max(0.01, ideal_here.seconds / measured_step))
    # An epoch: its steps, the validation batches (forward and metrics; a GAN validates
    # nothing) and a fixed overhead (metrics, checkpoint), in units of a step so that other
    # devices scale it. The overhead is measured where it can matter: short epochs.
    generative = hasattr(network, "generator") and hasattr(network, "discriminator")
    eval_ratio = timing.eval_seconds / timing.batch / timing.seconds  # steps per sample
    overhead = 0.0
    step_memory = timing.peak_memory
    if measured_step * steps_per_epoch < OVERHEAD_MATTERS_BELOW:
        bookkeeping = _run_bookkeeping(spec, prepared, network)
        measured = time_epoch_overhead(
            network, spec.train, prepared, timing, seed=spec.seed, callbacks=bookkeeping
        )
        overhead = measured.seconds
        if step_memory is not None and measured.step_memory is not None:
            # in the trainer a step also keeps its loss and metric sums: a tiny network's
            # step holds more there than alone
            step_memory = max(step_memory, measured.step_memory)
    if step_memory is not None:  # what autograd really keeps, not only layer outputs
        held = step_memory * scale - memory.gradients - memory.optimizer_state
        memory = replace(memory, activations=max(0, int(held)))
    evaluated = (0 if generative else sizes.get("val", 0)) * eval_ratio
    evaluated += overhead / measured_step
    tested = sizes.get("test", 0) * eval_ratio
    per_epoch = steps_per_epoch + evaluated
    prices = price_table(settings)
    here_price, here_currency = local_price()
    found: list[DeviceEstimate] = []
    for name in wanted:
        if name in ("cpu", "cuda"):
            if name != local_kind.type:
                continue  # measured on one local device per estimate
            step = _span(measured_step, LOCAL_SPREAD)
            if name == "cuda":
                props = torch.cuda.get_device_properties(local_kind)
                capacity, title = int(props.total_memory), props.name
                need = memory.total
            else:
                import platform

                import psutil

                capacity = int(psutil.virtual_memory().available)
                title = f"this machine's CPU ({platform.machine()}, measured)"
                need = memory.total
            total = _scaled(step, per_epoch * epochs + tested)
            costs = [
                {
                    "provider": "this machine",
                    "offering": name,
                    "currency": here_currency,
                    "price_per_hour": here_price,
                    "amount": {
                        "low": total[0] / 3600 * here_price,
                        "high": total[2] / 3600 * here_price,
                    },
                    "source": "ATHANOR_LOCAL_PRICE" if here_price else "own hardware (price 0)",
                    "as_of": "",
                }
            ]
            found.append(
                _device_estimate(
                    name,
                    title,
                    "measured",
                    step,
                    per_epoch,
                    epochs,
                    tested,
                    need,
                    capacity,
                    memory,
                    batch_size,
                    ideal_here.dominant(),
                    costs,
                )
            )
            continue
        device = find_device(name, settings)
        ideal = roofline(described, device.peak_flops("fp32"), device.bandwidth_gbs * 1e9, slots)
        middle = min(0.6, max(0.05, efficiency))
        step = (
            (ideal.step_seconds(min(0.9, middle * 1.5), LAUNCH_SECONDS[0])) * scale,
            (ideal.step_seconds(middle, sum(LAUNCH_SECONDS) / 2)) * scale,
            (ideal.step_seconds(middle / 1.5, LAUNCH_SECONDS[1])) * scale,
        )
        total = _scaled(step, per_epoch * epochs + tested)
        costs = [
            {
                **price.to_json(),
                "amount": {
                    "low": total[0] / 3600 * price.price_per_hour,
                    "high": total[2] / 3600 * price.price_per_hour,
                },
            }
            for price in prices
            if price.device == device.id
        ]
        found.append(
            _device_estimate(
                device.id,
                device.name,
                "roofline",
                step,
                per_epoch,
                epochs,
                tested,
                memory.total,
                device.memory_bytes,
                memory,
                batch_size,
                ideal.dominant(),
                costs,
            )
        )

    result = Estimate(
        spec=spec.name,
        batch_size=batch_size,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        samples=sizes,
        memory=memory.to_json(),
        calibration={
            "device": str(local_kind),
            "seconds_per_step": measured_step,
            "steps_timed": timing.steps,
            "peak_memory_measured": step_memory,
            "eval_seconds_per_sample": timing.eval_seconds / timing.batch,
            "epoch_overhead_seconds": overhead,
            "activations_counted": counted_activations,
            "matmul_flops": throughput["matmul_flops"],
            "bandwidth": throughput["bandwidth"],
            "efficiency": efficiency,
        },
        devices=found,
        notes=[
            "a step is forward, backward and the optimizer step; each epoch adds a forward "
            "pass over the validation split, and a short epoch its measured overhead "
            "(metrics, checkpoint); the run adds a forward pass over the test split",
            "memory counts weights, gradients, optimizer state and the activations a step "
            "holds at the batch size, measured while the steps ran where the allocator can be "
            "read (else every layer's output); not PyTorch's own memory (a CUDA context takes "
            "about 0.5 GiB more)",
            "other devices: a roofline of the summary's FLOPs and bytes at float32, at the "
            f"efficiency measured here ({efficiency:.0%} of this machine's matmul rate), "
            "clamped to 5-60%; the range is that efficiency x1.5 and /1.5 plus kernel "
            "launch costs",
            "prices are list prices as of their date: check the source",
        ],
    )
    if require_fit:
        for estimate_ in result.devices:
            named = estimate_.device in explicit or any(
                estimate_.device == find_device(n, settings).id
                for n in explicit
                if n not in ("cpu", "cuda")
            )
            if named and not estimate_.fits:
                raise DoesNotFit(f"{spec.name} on {estimate_.name}: {estimate_.advice}")
    return result


_scratch: dict[str, Any] = {}


def _run_bookkeeping(spec: Any, prepared: Any, network: Any) -> list[Any]:
    """The callbacks a run of ``spec`` trains with (the store's metric logger, the learning
    rate monitor, its task's samples), writing into a scratch store: what a real run's epoch
    costs beyond its steps. Early stopping and the progress bar are left out.

    The scratch store lives in a temporary folder for the life of the process, so that only
    the first estimate pays for creating its database.
    """
    import tempfile

    from rich.console import Console

    from athanor.runs.callbacks import run_callbacks
    from athanor.store import open_store

    if "store" not in _scratch:
        folder = tempfile.TemporaryDirectory(prefix="athanor-estimate-")
        home = Path(folder.name)
        scratch = Settings(home=home, db_url=f"sqlite:///{home / 'scratch.db'}", data_mirrors=())
        _scratch.update(folder=folder, store=open_store(scratch))
    store = _scratch["store"]
    run = store.runs.create({}, name="estimate")
    quiet = spec.model_copy(
        update={"train": spec.train.model_copy(update={"early_stopping": None})}
    )
    assembled = run_callbacks(
        quiet,
        prepared,
        network,
        runs=store.runs,
        run_id=run.id,
        run_dir=store.settings.home / "runs" / str(run.id),
        console=Console(quiet=True),
        progress=False,
    )
    return assembled.callbacks


def _device_estimate(
    device: str,
    name: str,
    method: str,
    step: tuple[float, float, float],
    per_epoch: float,
    epochs: int,
    tested: float,
    need: int,
    capacity: int,
    memory: Any,
    batch_size: int,
    dominant: list[dict[str, Any]],
    costs: list[dict[str, Any]],
) -> DeviceEstimate:
    from athanor.nets.parameter_memory import format_size

    fits = need <= capacity * HEADROOM
    advice = ""
    if not fits:
        fixed = need - memory.activations
        per_sample = memory.activations / batch_size
        room = capacity * HEADROOM - fixed
        smaller = int(room // per_sample) if per_sample and room > 0 else 0
        advice = (
            f"does not fit: a training step needs {format_size(need)}, the device has "
            f"{format_size(capacity)} ({HEADROOM:.0%} usable); "
            + (
                f"lower train.batch_size to about {smaller}"
                if smaller >= 1
                else "even one sample's activations do not fit beside the weights, gradients "
                "and optimizer state: make the network smaller"
                if room > 0
                else "the weights, gradients and optimizer state alone do not fit: make the "
                "network smaller"
            )
        )
    return DeviceEstimate(
        device=device,
        name=name,
        method=method,
        step_seconds=step,
        epoch_seconds=_scaled(step, per_epoch),
        total_seconds=_scaled(step, per_epoch * epochs + tested),
        memory_bytes=need,
        device_memory_bytes=capacity,
        fits=fits,
        advice=advice,
        dominant=dominant,
        costs=costs,
    )
