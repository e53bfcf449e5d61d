"""The supervised training loop.

The loop does only what a hand-written PyTorch loop does (forward, loss, backward, step) plus
on-device accumulation of the epoch's loss and metrics; everything else (progress, logging,
early stopping) happens in callbacks that only run at the hooks they override.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
from torch import nn

from athanor.data.prepare import Prepared
from athanor.errors import UserError
from athanor.spec.train import TrainSpec
from athanor.train.callbacks.base import Callback, CallbackList
from athanor.train.devices import select_device
from athanor.train.evaluation import evaluate_split
from athanor.train.losses import build_loss
from athanor.train.metrics import build_metrics
from athanor.train.optimizers import build_optimizer
from athanor.train.schedules import build_schedule
from athanor.train.state import TrainState


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
    test_metrics: dict[str, float] = field(default_factory=dict)


class Trainer:
    """Trains a network on prepared data as a :class:`TrainSpec` says.

    Args:
        spec: the training section of a run spec.
        seed: seeds shuffling and dropout (the network is seeded when it is built).
        callbacks: hooks for progress, logging, early stopping and more.
    """

    def __init__(
        self, spec: TrainSpec, *, seed: int = 0, callbacks: list[Callback] | None = None
    ) -> None:
        self.spec = spec
        self.seed = seed
        self.callbacks = CallbackList(list(callbacks or []))
        self.device = select_device(spec.device)
        self.module: nn.Module | None = None
        self.optimizer: torch.optim.Optimizer | None = None

    def fit(self, module: nn.Module, prepared: Prepared) -> FitResult:
        """Train ``module`` on ``prepared.train``, validating on ``prepared.val`` each epoch.

        The test split is not touched; call :meth:`test` once training is over.

        Raises:
            UserError: a metric, loss or monitor that does not fit the data.
        """
        spec = self.spec
        schema = prepared.schema
        device = self.device
        module.to(device)
        self.module = module
        batches = prepared.batches(
            "train", spec.batch_size, shuffle=True, seed=self.seed, device=device
        )
        val = (
            prepared.batches("val", spec.eval_batch_size, device=device)
            if prepared.size("val")
            else None
        )
        train_size = prepared.size("train")
        if (
            spec.early_stopping is not None
            and spec.early_stopping.monitor.startswith("val_")
            and val is None
        ):
            raise UserError(
                f"train.early_stopping.monitor is {spec.early_stopping.monitor} but the data has "
                "no validation split; set data.split.val"
            )
        loss_fn = build_loss(spec.loss, schema)
        train_metrics = build_metrics(spec.metrics, schema)
        val_metrics = build_metrics(spec.metrics, schema)
        self._check_monitor([f"val_{m.name}" for m in val_metrics])
        self.loss_fn = loss_fn
        self.metric_names = [m.name for m in val_metrics]
        self.train_metrics = train_metrics
        optimizer = build_optimizer(
            spec.optimizer, (p for p in module.parameters() if p.requires_grad)
        )
        self.optimizer = optimizer
        schedule = build_schedule(spec, optimizer, len(batches))
        step_schedule = schedule.scheduler if schedule and schedule.interval == "step" else None
        epoch_schedule = schedule.scheduler if schedule and schedule.interval == "epoch" else None
        clip = spec.clip_grad
        parameters = [p for p in module.parameters() if p.requires_grad]

        state = TrainState(
            epochs=spec.epochs,
            steps_per_epoch=len(batches),
            batch_size=spec.batch_size,
            train_size=train_size,
        )
        self.state = state
        calls = self.callbacks
        per_batch = {
            hook: calls.has(hook)
            for hook in ("on_batch_start", "on_before_backward", "on_after_optimizer_step")
        }
        torch.manual_seed(self.seed)
        module.train()
        calls.call("on_fit_start", self, state)
        try:
            for epoch in range(state.epoch, spec.epochs):
                state.epoch = epoch
                state.epoch_started_at = time.perf_counter()
                calls.call("on_epoch_start", self, state)
                loss_sum = torch.zeros((), dtype=torch.float64, device=device)
                seen = 0
                for metric in train_metrics:
                    metric.reset()
                for index, (x, y) in enumerate(batches.epoch(epoch)):
                    state.batch = index
                    if per_batch["on_batch_start"]:
                        calls.call("on_batch_start", self, state)
                    outputs = module(x)
                    loss = loss_fn(outputs, y)
                    if per_batch["on_before_backward"]:
                        calls.call("on_before_backward", self, state, loss)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    if clip is not None:
                        if clip.norm is not None:
                            torch.nn.utils.clip_grad_norm_(parameters, clip.norm)
                        else:
                            torch.nn.utils.clip_grad_value_(parameters, clip.value)
                    optimizer.step()
                    if step_schedule is not None:
                        step_schedule.step()
                    state.step += 1
                    if per_batch["on_after_optimizer_step"]:
                        calls.call("on_after_optimizer_step", self, state)
                    loss = loss.detach()
                    loss_sum += loss * y.shape[0]
                    seen += y.shape[0]
                    for metric in train_metrics:
                        metric.update(outputs.detach(), y)
                    state.samples_seen += y.shape[0]
                    calls.call("on_batch_end", self, state, loss)
                metrics = {"train_loss": float(loss_sum) / max(seen, 1)}
                metrics.update({f"train_{m.name}": m.compute() for m in train_metrics})
                if val is not None:
                    val_results = evaluate_split(module, val, loss_fn, val_metrics)
                    calls.call("on_validation_end", self, state, val_results)
                    metrics.update(val_results)
                metrics["lr"] = optimizer.param_groups[0]["lr"]
                metrics["epoch_seconds"] = time.perf_counter() - state.epoch_started_at
                if epoch_schedule is not None:
                    epoch_schedule.step()
                state.history.append(metrics)
                calls.call("on_epoch_end", self, state, metrics)
                if state.stop_reason is not None:
                    break
            calls.call("on_fit_end", self, state)
        except BaseException as error:
            calls.call("on_exception", self, state, error)
            raise
        seconds = time.perf_counter() - state.started_at
        return FitResult(
            history=state.history,
            epochs_run=len(state.history),
            steps=state.step,
            stop_reason=state.stop_reason,
            best_epoch=state.best_epoch,
            seconds=seconds,
            samples_per_second=state.samples_seen / seconds if seconds > 0 else 0.0,
            device=str(device),
        )

    def test(self, prepared: Prepared) -> dict[str, float]:
        """Loss and metrics on the test split, computed once, after training."""
        if self.module is None:
            raise RuntimeError("test() needs a fitted module; call fit() first")
        if not prepared.size("test"):
            return {}
        return evaluate_split(
            self.module,
            prepared.batches("test", self.spec.eval_batch_size, device=self.device),
            build_loss(self.spec.loss, prepared.schema),
            build_metrics(self.spec.metrics, prepared.schema),
            prefix="test",
        )

    def _check_monitor(self, available: list[str]) -> None:
        stopping = self.spec.early_stopping
        if stopping is None:
            return
        names = [
            "val_loss",
            "train_loss",
            *available,
            *(a.replace("val_", "train_") for a in available),
        ]
        if stopping.monitor not in names:
            raise UserError(
                f"train.early_stopping.monitor: '{stopping.monitor}' is not computed for this "
                f"run; valid: {', '.join(sorted(set(names)))}"
            )
