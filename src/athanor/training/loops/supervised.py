"""Supervised training: outputs against targets with one loss and one optimizer.

Covers classification, regression, multi-step forecasting, character/word language models
(logits per position) and autoencoders (the target is the input), as ``athanor.data.schema``
defines their tensors. The inner loop does what a hand-written PyTorch loop does, plus
on-device sums of the epoch's loss and metrics (no ``.item()`` per step).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from athanor.data.batching import BatchSource
from athanor.data.prepare import Prepared
from athanor.training.distributed import DistributedContext, sum_number, sum_state, sum_tensor
from athanor.training.evaluation import evaluate_split
from athanor.training.loops.base import Loop
from athanor.training.losses import build_loss
from athanor.training.metrics import Metric, build_metrics
from athanor.training.optimizers import build_optimizer
from athanor.training.parameters import penalized
from athanor.training.schedules import Schedule, build_schedule, step_after_validation

if TYPE_CHECKING:
    from athanor.training.state import TrainState
    from athanor.training.trainer import Trainer


class SupervisedLoop(Loop):
    """Forward, loss (plus optional L1/L2 penalty), backward, clip, step; accumulation aware."""

    def setup(
        self,
        trainer: Trainer,
        module: nn.Module,
        forward: nn.Module,
        prepared: Prepared,
        batches: BatchSource,
    ) -> int:
        spec = trainer.spec
        self.trainer = trainer
        self.module = module
        self.forward = forward
        self.device = trainer.device
        counts = prepared.class_counts() if spec.loss.class_weights == "balanced" else None
        self.loss_fn = build_loss(spec.loss, prepared.schema, counts).to(self.device)
        every = build_metrics(spec.metrics, prepared.schema)
        self._trained_positions = [i for i, m in enumerate(every) if m.on_training_batches]
        self._metric_count = len(every)
        self.train_metrics = [every[i] for i in self._trained_positions]
        self.val_metrics = build_metrics(spec.metrics, prepared.schema)
        self.optimizer = build_optimizer(spec.optimizer, module)
        self.steps_per_epoch = -(-len(batches) // spec.accumulate)
        self.schedule: Schedule | None = build_schedule(
            spec.schedule, self.optimizer, self.steps_per_epoch, spec.epochs
        )
        self.scaler = torch.amp.GradScaler(self.device.type) if spec.precision == "fp16" else None
        self.penalty_params = penalized(module)
        preprocessor = prepared.preprocessor
        # Metrics in the targets' own units (house prices, sunspot counts), not scaled ones.
        self.unscale = preprocessor.inverse_target if preprocessor.target_steps else None
        self.loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        self.seen = 0
        self.ranks: DistributedContext = trainer.distributed
        return self.steps_per_epoch

    def monitors(self) -> list[str]:
        names = [m.name for m in self.val_metrics if m.scalar]
        return ["loss", *names]

    def start_epoch(self) -> None:
        self.loss_sum.zero_()
        self.seen = 0
        for metric in self.train_metrics:
            metric.reset()

    def run(
        self, trainer: Trainer, state: TrainState, batches: BatchSource, epoch: int, start: int
    ) -> None:
        spec = trainer.spec
        calls = trainer.callbacks
        forward, loss_fn, optimizer, scaler = (
            self.forward,
            self.loss_fn,
            self.optimizer,
            self.scaler,
        )
        schedule = self.schedule
        step_schedule = schedule.scheduler if schedule and schedule.interval == "step" else None
        accumulate = spec.accumulate
        clip = spec.clip_grad
        trainable = [p for p in self.module.parameters() if p.requires_grad]
        l1, l2 = spec.regularization.l1, spec.regularization.l2
        guard = trainer.nan_guard
        autocast = trainer.autocast
        on_batch_start = calls.has("on_batch_start")
        on_before_backward = calls.has("on_before_backward")
        last = len(batches) - 1
        world = self.ranks.world_size
        for index, (x, y) in enumerate(batches.epoch(epoch, start), start=start):
            state.batch = index
            rows = y.shape[0]
            if on_batch_start:
                calls.call("on_batch_start", trainer, state)
            with autocast():
                outputs = forward(x)
                # An empty shard (a last batch smaller than the ranks) still joins the
                # gradient all-reduce, with zero gradients.
                loss = loss_fn(outputs, y) if rows else outputs.sum() * 0.0
                if l1 or l2:
                    loss = loss + _penalty(self.penalty_params, l1, l2)
            if on_before_backward:
                calls.call("on_before_backward", trainer, state, loss)
            # Each batch's loss is weighted by its share of its accumulation group (and, with
            # N ranks whose gradients DDP averages, by N times its share): the gradient is
            # exactly that of one batch of all the group's samples.
            scaled = (
                loss * (rows * world / _group_samples(index, accumulate, state))
                if accumulate > 1 or world > 1
                else loss
            )
            (scaler.scale(scaled) if scaler is not None else scaled).backward()
            detached = loss.detach()
            if rows:
                self.loss_sum.add_(detached, alpha=rows)
                self.seen += rows
                if self.unscale is None:
                    for metric in self.train_metrics:
                        metric.update(outputs, y)
                else:
                    own_outputs, own_y = self.unscale(outputs.detach().float()), self.unscale(y)
                    for metric in self.train_metrics:
                        metric.update(own_outputs, own_y)
                if guard is not None:
                    guard.add(detached, state.step + 1, state)
            # samples of the global batch, whichever rank counts them
            state.samples_seen += rows if world == 1 else _group_samples(index, 1, state)
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
                stop = trainer.after_step(state, index)
                optimizer.zero_grad(set_to_none=True)
                if stop:
                    return
            calls.call("on_batch_end", trainer, state, detached)

    def epoch_results(self) -> dict[str, Any]:
        loss_sum, seen, metrics = self._summed()
        results: dict[str, Any] = {"train_loss": float(loss_sum) / max(seen, 1)}
        results.update({f"train_{m.name}": m.compute() for m in metrics})
        return results

    def _summed(self) -> tuple[torch.Tensor, int, list[Metric]]:
        """The epoch's loss sum, sample count and metrics over all ranks (copies: each
        rank's own sums go on)."""
        ranks = self.ranks
        if not ranks.active:
            return self.loss_sum, self.seen, self.train_metrics
        metrics = []
        for metric in self.train_metrics:
            total = copy.deepcopy(metric)
            total.load_state_dict(
                sum_state(metric.state_dict(), ranks, per_sample=metric.per_sample)
            )
            metrics.append(total)
        return sum_tensor(self.loss_sum, ranks), int(sum_number(self.seen, ranks)), metrics

    def validate(self, batches: BatchSource) -> dict[str, Any]:
        return evaluate_split(
            self.module,
            batches,
            self.loss_fn,
            self.val_metrics,
            autocast=self.trainer.autocast,
            unscale=self.unscale,
            ranks=self.ranks,
        )

    def test(self, prepared: Prepared) -> dict[str, Any]:
        spec = self.trainer.spec
        return evaluate_split(
            self.module,
            prepared.batches("test", spec.eval_batch_size, device=self.device),
            self.loss_fn,
            build_metrics(spec.metrics, prepared.schema),
            prefix="test",
            autocast=self.trainer.autocast,
            unscale=self.unscale,
        )

    def step_validation_schedule(self, metrics: dict[str, float]) -> None:
        if self.schedule is not None and self.schedule.interval == "validation":
            step_after_validation(self.schedule, metrics)

    def state_dict(self) -> dict[str, Any]:
        # With several ranks (all of them call this), the partial epoch's sums of all ranks.
        loss_sum, seen, metrics = self._summed()
        return {
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict() if self.schedule is not None else None,
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "loss_sum": loss_sum,
            "seen": seen,
            "metrics": [metric.state_dict() for metric in metrics],
        }

    def load_state_dict(self, state: dict[str, Any], device: torch.device) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        if self.schedule is not None and state["schedule"] is not None:
            self.schedule.load_state_dict(state["schedule"])
        if self.scaler is not None and state["scaler"] is not None:
            self.scaler.load_state_dict(state["scaler"])
        self.loss_sum = state["loss_sum"].to(device)
        self.seen = state["seen"]
        saved_metrics = state["metrics"]
        if len(saved_metrics) == self._metric_count != len(self.train_metrics):
            # saved when every metric was also kept on the training batches
            saved_metrics = [saved_metrics[i] for i in self._trained_positions]
        for metric, saved in zip(self.train_metrics, saved_metrics, strict=True):
            metric.load_state_dict(to_device(saved, device))
        if not self.ranks.leader:  # the saved sums are all ranks': rank 0 alone carries them
            self.start_epoch()


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


def to_device(value: Any, device: torch.device) -> Any:
    """``value`` with every tensor inside moved to ``device``."""
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, dict):
        return {k: to_device(v, device) for k, v in value.items()}
    if isinstance(value, list):
        return [to_device(v, device) for v in value]
    return value


__all__ = ["Metric", "SupervisedLoop", "to_device"]
