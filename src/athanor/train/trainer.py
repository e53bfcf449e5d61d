"""The supervised training loop, with exact checkpoints.

The loop does what a hand-written PyTorch loop does (forward, loss, backward, step) plus
on-device accumulation of the epoch's loss and metrics; progress, logging and early stopping
happen in callbacks that only run at the hooks they override. Everything the loop depends
on (weights, optimizer, schedule, scaler, RNG states, the position in the epoch's batch order,
the partial epoch's sums, callback state) is in a checkpoint, so a run resumed from one ends
with the same weights as a run that was never interrupted.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from athanor.data.prepare import Prepared
from athanor.errors import UserError
from athanor.spec.train import TrainSpec
from athanor.train.callbacks.base import Callback, CallbackList
from athanor.train.checkpoint import load_checkpoint, restore_rng_state, rng_state, save_checkpoint
from athanor.train.devices import select_device
from athanor.train.evaluation import evaluate_split, split_scalars
from athanor.train.losses import build_loss
from athanor.train.metrics import Metric, build_metrics
from athanor.train.optimizers import build_optimizer
from athanor.train.parameters import freeze, penalized
from athanor.train.schedules import Schedule, build_schedule, step_after_validation
from athanor.train.state import TrainState


class TrainingDiverged(UserError):
    """The loss became NaN or infinite."""


@dataclass
class FitResult:
    """What :meth:`Trainer.fit` did."""

    history: list[dict[str, float]]
    epochs_run: int
    steps: int
    stop_reason: str | None
    best_epoch: int | None
    seconds: float
    samples_per_second: float
    device: str
    interrupted: bool = False
    reports: dict[str, Any] = field(default_factory=dict)
    test_metrics: dict[str, float] = field(default_factory=dict)


class _NanGuard:
    """Finds the first non-finite loss, naming its step and the last finite loss.

    On the CPU each loss is read at once (free). On a GPU, losses go into a small ring buffer
    on the device that is read every ``window`` steps, so training is not synchronized per step.
    """

    def __init__(self, device: torch.device) -> None:
        self.on_cpu = device.type == "cpu"
        self.window = 32
        self.buffer = None if self.on_cpu else torch.zeros(self.window, device=device)
        self.steps: list[int] = []
        self.last_finite: tuple[int, float] | None = None

    def add(self, loss: torch.Tensor, step: int, state: TrainState) -> None:
        if self.on_cpu:
            self._judge(step, float(loss), state)
            return
        assert self.buffer is not None
        self.buffer[len(self.steps)] = loss.float()
        self.steps.append(step)
        if len(self.steps) == self.window:
            self.check(state)

    def check(self, state: TrainState) -> None:
        if self.buffer is None or not self.steps:
            return
        values = self.buffer[: len(self.steps)].tolist()
        steps, self.steps = self.steps, []
        for step, value in zip(steps, values, strict=True):
            self._judge(step, value, state)

    def _judge(self, step: int, value: float, state: TrainState) -> None:
        if math.isfinite(value):
            self.last_finite = (step, value)
            return
        last = (
            f"the last finite loss was {self.last_finite[1]:.6g} at step {self.last_finite[0]}"
            if self.last_finite
            else "no finite loss was seen"
        )
        raise TrainingDiverged(
            f"the loss became {value} at step {step} (epoch {state.epoch + 1}); {last}. "
            "Lower train.optimizer.lr, add train.clip_grad, or look for NaN in the data"
        )


class Trainer:
    """Trains a network on prepared data as a :class:`TrainSpec` says.

    Args:
        spec: the training section of a run spec.
        seed: seeds shuffling and dropout (the network is seeded when it is built).
        callbacks: hooks for progress, logging, early stopping and more.
        checkpoint_dir: where checkpoints go (``None``: none are written).
    """

    def __init__(
        self,
        spec: TrainSpec,
        *,
        seed: int = 0,
        callbacks: list[Callback] | None = None,
        checkpoint_dir: Path | None = None,
    ) -> None:
        self.spec = spec
        self.seed = seed
        self.callbacks = CallbackList(list(callbacks or []))
        self.device = select_device(spec.device)
        self.checkpoint_dir = checkpoint_dir
        self.module: nn.Module | None = None
        self.optimizer: torch.optim.Optimizer | None = None
        self.schedule: Schedule | None = None
        self.scaler: torch.amp.GradScaler | None = None
        self.train_metrics: list[Metric] = []
        self.pending: list[tuple[str, float, int, int]] = []
        self.frozen: list[str] = []
        self._stop_reason: str | None = None
        self._checkpoints: list[Path] = []

    # --- public controls ---------------------------------------------------------------

    def request_stop(self, reason: str) -> None:
        """Stop after the current optimizer step, saving a checkpoint (signal handlers call
        this; it only sets a flag)."""
        self._stop_reason = reason

    def record(self, name: str, value: float) -> None:
        """Queue a value for the run's metric log at the current step (see StoreLogger)."""
        state = self.state
        self.pending.append((name, float(value), state.step, state.epoch + 1))

    def autocast(self) -> AbstractContextManager[Any]:
        """The mixed-precision context of ``train.precision`` (a no-op for fp32)."""
        if self.spec.precision == "fp32":
            return nullcontext()
        dtype = torch.bfloat16 if self.spec.precision == "bf16" else torch.float16
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    # --- setup -------------------------------------------------------------------------

    def _check_precision(self) -> None:
        precision, device = self.spec.precision, self.device
        if precision == "fp16" and device.type != "cuda":
            raise UserError(
                f"train.precision: fp16 needs a CUDA GPU (training on {device.type}); "
                "use bf16 or fp32"
            )
        if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise UserError("train.precision: this GPU has no bf16 support; use fp16 or fp32")

    def _check_monitor(self, available: list[str]) -> None:
        for key, monitor in (
            ("early_stopping.monitor", getattr(self.spec.early_stopping, "monitor", None)),
            ("schedule.monitor", getattr(self.spec.schedule, "monitor", None)),
        ):
            if monitor is None:
                continue
            names = ["val_loss", "train_loss", *available]
            names += [name.replace("val_", "train_", 1) for name in available]
            if monitor not in names:
                raise UserError(
                    f"train.{key}: '{monitor}' is not computed for this run; valid: "
                    + ", ".join(sorted(set(names)))
                )

    def fit(
        self, module: nn.Module, prepared: Prepared, *, resume_from: Path | None = None
    ) -> FitResult:
        """Train ``module`` on ``prepared.train``, validating on ``prepared.val`` each epoch.

        Args:
            module: the network (moved to the training device).
            prepared: the data.
            resume_from: a checkpoint folder to continue from (same spec and data).

        The test split is not touched; call :meth:`test` once training is over.

        Raises:
            UserError: a metric, loss, monitor or option that does not fit the data.
            TrainingDiverged: the loss became NaN or infinite (with ``nan_guard``).
        """
        spec = self.spec
        schema = prepared.schema
        device = self.device
        self._check_precision()
        module.to(device)
        self.module = module
        self.frozen = freeze(module, spec.freeze) if spec.freeze else []
        forward = torch.compile(module) if spec.compile else module
        batches = prepared.batches(
            "train", spec.batch_size, shuffle=True, seed=self.seed, device=device
        )
        val = (
            prepared.batches("val", spec.eval_batch_size, device=device)
            if prepared.size("val")
            else None
        )
        monitors = [
            m
            for m in (
                getattr(spec.early_stopping, "monitor", None),
                getattr(spec.schedule, "monitor", None),
            )
            if m
        ]
        if val is None and any(m.startswith("val_") for m in monitors):
            raise UserError(
                f"train: {', '.join(monitors)} needs a validation split, and the data has none; "
                "set data.split.val"
            )
        counts = prepared.class_counts() if spec.loss.class_weights == "balanced" else None
        loss_fn = build_loss(spec.loss, schema, counts).to(device)
        self.loss_fn = loss_fn
        self.train_metrics = build_metrics(spec.metrics, schema)
        val_metrics = build_metrics(spec.metrics, schema)
        self._check_monitor([f"val_{m.name}" for m in val_metrics if m.scalar])
        self.metric_names = [m.name for m in val_metrics]
        optimizer = build_optimizer(spec.optimizer, module)
        self.optimizer = optimizer
        accumulate = spec.accumulate
        steps_per_epoch = -(-len(batches) // accumulate)
        schedule = build_schedule(spec, optimizer, steps_per_epoch)
        self.schedule = schedule
        step_schedule = schedule.scheduler if schedule and schedule.interval == "step" else None
        if spec.precision == "fp16":
            self.scaler = torch.amp.GradScaler(device.type)
        scaler = self.scaler
        clip = spec.clip_grad
        trainable = [p for p in module.parameters() if p.requires_grad]
        penalty_params = penalized(module)
        l1, l2 = spec.regularization.l1, spec.regularization.l2
        guard = _NanGuard(device) if spec.nan_guard else None
        autocast = self.autocast

        state = TrainState(
            epochs=spec.epochs,
            steps_per_epoch=steps_per_epoch,
            batches_per_epoch=len(batches),
            batch_size=spec.batch_size,
            train_size=prepared.size("train"),
        )
        self.state = state
        self._loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        self._seen = 0
        self._epoch_lr = optimizer.param_groups[0]["lr"]
        torch.manual_seed(self.seed)
        if resume_from is not None:
            self._restore(load_checkpoint(resume_from), resume_from)
        calls = self.callbacks
        per_batch = {
            hook: calls.has(hook)
            for hook in ("on_batch_start", "on_before_backward", "on_after_optimizer_step")
        }
        module.train()
        optimizer.zero_grad(set_to_none=True)
        calls.call("on_fit_start", self, state)
        try:
            while state.epoch < spec.epochs:
                epoch = state.epoch
                start = state.batch
                if start == 0:
                    self._epoch_lr = optimizer.param_groups[0]["lr"]
                    state.epoch_started_at = time.perf_counter()
                    self._loss_sum.zero_()
                    self._seen = 0
                    for metric in self.train_metrics:
                        metric.reset()
                calls.call("on_epoch_start", self, state)
                last = len(batches) - 1
                for index, (x, y) in enumerate(batches.epoch(epoch, start), start=start):
                    state.batch = index
                    if per_batch["on_batch_start"]:
                        calls.call("on_batch_start", self, state)
                    with autocast():
                        outputs = forward(x)
                        loss = loss_fn(outputs, y)
                        if l1 or l2:
                            loss = loss + _penalty(penalty_params, l1, l2)
                    if per_batch["on_before_backward"]:
                        calls.call("on_before_backward", self, state, loss)
                    scaled = (
                        loss * (y.shape[0] / _group_samples(index, accumulate, state))
                        if accumulate > 1
                        else loss
                    )
                    (scaler.scale(scaled) if scaler is not None else scaled).backward()
                    detached = loss.detach()
                    self._loss_sum.add_(detached, alpha=y.shape[0])
                    self._seen += y.shape[0]
                    for metric in self.train_metrics:
                        metric.update(outputs, y)
                    state.samples_seen += y.shape[0]
                    if guard is not None:
                        guard.add(detached, state.step + 1, state)
                    if (index + 1) % accumulate == 0 or index == last:
                        if scaler is not None:
                            scaler.unscale_(optimizer)
                        if clip is not None:
                            if clip.norm is not None:
                                torch.nn.utils.clip_grad_norm_(trainable, clip.norm)
                            else:
                                torch.nn.utils.clip_grad_value_(trainable, clip.value)
                        if scaler is not None:
                            scaler.step(optimizer)
                            scaler.update()
                        else:
                            optimizer.step()
                        if step_schedule is not None:
                            step_schedule.step()
                        state.step += 1
                        state.batch = index + 1
                        if per_batch["on_after_optimizer_step"]:
                            calls.call("on_after_optimizer_step", self, state)
                        optimizer.zero_grad(set_to_none=True)
                        if self._checkpoint_due(step=True) or self._stop_reason is not None:
                            if guard is not None:
                                guard.check(state)
                            self.save_checkpoint()
                        if self._stop_reason is not None:
                            break
                    calls.call("on_batch_end", self, state, detached)
                if self._stop_reason is not None:
                    state.stop_reason = self._stop_reason
                    state.interrupted = True
                    break
                if guard is not None:
                    guard.check(state)
                self._finish_epoch(state, val, val_metrics, optimizer, autocast)
                if state.stop_reason is not None:
                    break
            calls.call("on_fit_end", self, state)
        except BaseException as error:
            calls.call("on_exception", self, state, error)
            raise
        seconds = state.elapsed
        return FitResult(
            history=state.history,
            epochs_run=len(state.history),
            steps=state.step,
            stop_reason=state.stop_reason,
            best_epoch=state.best_epoch,
            seconds=seconds,
            samples_per_second=state.samples_seen / seconds if seconds > 0 else 0.0,
            device=str(device),
            interrupted=state.interrupted,
            reports=state.reports,
        )

    def _finish_epoch(
        self,
        state: TrainState,
        val: Any,
        val_metrics: list[Metric],
        optimizer: torch.optim.Optimizer,
        autocast: Callable[[], AbstractContextManager[Any]],
    ) -> None:
        """Epoch metrics, validation, plateau schedule, callbacks, epoch checkpoint."""
        assert self.module is not None
        results: dict[str, Any] = {"train_loss": float(self._loss_sum) / max(self._seen, 1)}
        results.update({f"train_{m.name}": m.compute() for m in self.train_metrics})
        if val is not None:
            validation = evaluate_split(
                self.module, val, self.loss_fn, val_metrics, autocast=autocast
            )
            results.update(validation)
            self.callbacks.call("on_validation_end", self, state, split_scalars(validation)[0])
        metrics, reports = split_scalars(results)
        state.reports.update(reports)
        metrics["lr"] = self._epoch_lr  # the rate the epoch started with
        metrics["epoch_seconds"] = time.perf_counter() - state.epoch_started_at
        if self.schedule is not None and self.schedule.interval == "validation":
            step_after_validation(self.schedule, metrics)
        state.history.append(metrics)
        self.callbacks.call("on_epoch_end", self, state, metrics)
        state.epoch += 1
        state.batch = 0
        if self._checkpoint_due(step=False):
            self.save_checkpoint()

    def test(self, prepared: Prepared) -> dict[str, float]:
        """Loss and scalar metrics on the test split, computed once, after training.

        Non-scalar results (a confusion matrix) go to ``self.test_reports``.
        """
        if self.module is None:
            raise RuntimeError("test() needs a fitted module; call fit() first")
        self.test_reports: dict[str, Any] = {}
        if not prepared.size("test"):
            return {}
        counts = prepared.class_counts() if self.spec.loss.class_weights == "balanced" else None
        results = evaluate_split(
            self.module,
            prepared.batches("test", self.spec.eval_batch_size, device=self.device),
            build_loss(self.spec.loss, prepared.schema, counts).to(self.device),
            build_metrics(self.spec.metrics, prepared.schema),
            prefix="test",
            autocast=self.autocast,
        )
        scalars, self.test_reports = split_scalars(results)
        return scalars

    # --- checkpoints -------------------------------------------------------------------

    def _checkpoint_due(self, *, step: bool) -> bool:
        policy = self.spec.checkpoint
        if self.checkpoint_dir is None or not policy.enabled:
            return False
        if step:
            return policy.every_steps is not None and self.state.step % policy.every_steps == 0
        return policy.every_epochs > 0 and (
            self.state.epoch % policy.every_epochs == 0 or self.state.epoch == self.spec.epochs
        )

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue training exactly from this point."""
        assert self.module is not None and self.optimizer is not None
        return {
            "train_spec": self.spec.model_dump(mode="json"),
            "seed": self.seed,
            "position": self.state.position(),
            "model": self.module.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict() if self.schedule is not None else None,
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "rng": rng_state(),
            "partial_epoch": {
                "loss_sum": self._loss_sum,
                "seen": self._seen,
                "lr": self._epoch_lr,
                "metrics": [metric.state_dict() for metric in self.train_metrics],
            },
            "callbacks": {
                f"{index}:{type(cb).__name__}": cb.state_dict()
                for index, cb in enumerate(self.callbacks.callbacks)
            },
        }

    def save_checkpoint(self) -> Path:
        """Write a checkpoint named by the step; keep the newest ``checkpoint.keep``."""
        assert self.checkpoint_dir is not None
        path = self.checkpoint_dir / f"step-{self.state.step:09d}"
        save_checkpoint(self.state_dict(), path)
        if path in self._checkpoints:
            self._checkpoints.remove(path)
        self._checkpoints.append(path)
        existing = sorted(p for p in self.checkpoint_dir.glob("step-*") if p.is_dir())
        for old in existing[: -self.spec.checkpoint.keep]:
            _remove(old)
        for leftover in self.checkpoint_dir.glob(".step-*"):  # a write cut short by a kill
            _remove(leftover)
        self.callbacks.call("on_checkpoint_save", self, self.state, path)
        return path

    def _restore(self, saved: dict[str, Any], path: Path) -> None:
        assert self.module is not None and self.optimizer is not None
        if saved["train_spec"] != self.spec.model_dump(mode="json") or saved["seed"] != self.seed:
            raise UserError(
                f"{path}: the training spec or seed differs from the one this checkpoint was "
                "written with; resume with the run's own spec"
            )
        self.module.load_state_dict(saved["model"])
        self.optimizer.load_state_dict(saved["optimizer"])
        if self.schedule is not None and saved["schedule"] is not None:
            self.schedule.load_state_dict(saved["schedule"])
        if self.scaler is not None and saved["scaler"] is not None:
            self.scaler.load_state_dict(saved["scaler"])
        self.state.restore(saved["position"])
        partial_epoch = saved["partial_epoch"]
        self._loss_sum = partial_epoch["loss_sum"].to(self.device)
        self._seen = partial_epoch["seen"]
        self._epoch_lr = partial_epoch["lr"]
        for metric, metric_state in zip(self.train_metrics, partial_epoch["metrics"], strict=True):
            metric.load_state_dict(_to_device(metric_state, self.device))
        for index, cb in enumerate(self.callbacks.callbacks):
            key = f"{index}:{type(cb).__name__}"
            if key in saved["callbacks"]:
                cb.load_state_dict(_to_device(saved["callbacks"][key], self.device))
        restore_rng_state(saved["rng"])
        self.callbacks.call("on_checkpoint_load", self, self.state, path)


def _group_samples(index: int, accumulate: int, state: TrainState) -> int:
    """Samples in the accumulation group of batch ``index``: each batch's loss is weighted by
    its share, so a group's gradient is exactly that of one batch of all its samples."""
    first = (index // accumulate) * accumulate
    end = min(first + accumulate, state.batches_per_epoch)
    return min(state.train_size, end * state.batch_size) - first * state.batch_size


def _penalty(parameters: list[torch.nn.Parameter], l1: float, l2: float) -> torch.Tensor:
    total = parameters[0].new_zeros(())
    for parameter in parameters:
        if l1:
            total = total + l1 * parameter.abs().sum()
        if l2:
            total = total + l2 * parameter.square().sum()
    return total


def _to_device(value: Any, device: torch.device) -> Any:
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, dict):
        return {k: _to_device(v, device) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_device(v, device) for v in value]
    return value


def _remove(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def latest_checkpoint(folder: Path) -> Path | None:
    """The newest checkpoint in ``folder``, if any."""
    found = sorted(p for p in Path(folder).glob("step-*") if p.is_dir())
    return found[-1] if found else None


__all__ = ["FitResult", "Trainer", "TrainingDiverged", "latest_checkpoint"]
