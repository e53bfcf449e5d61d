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
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from athanor.data.prepare import Prepared
from athanor.errors import UserError
from athanor.spec.train import TrainSpec
from athanor.store.checkpoints import CheckpointFolder
from athanor.training.callbacks.base import Callback, CallbackList
from athanor.training.checkpoint import (
    load_checkpoint,
    restore_rng_state,
    rng_state,
    save_checkpoint,
)
from athanor.training.devices import select_device
from athanor.training.distributed import (
    SINGLE,
    DistributedContext,
    PeerLost,
    any_rank,
    from_leader,
    gather,
    peer_failure,
    shard,
)
from athanor.training.evaluation import split_scalars
from athanor.training.loops import loop_for
from athanor.training.loops.base import Loop
from athanor.training.loops.supervised import to_device
from athanor.training.parameters import freeze
from athanor.training.state import TrainState
from athanor.training.transfer import GradualUnfreezing, apply_transfer, with_transfer_groups


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
        distributed: this process's rank among the run's data-parallel processes (default:
            the only one). Every rank gets the same spec, seed and ``checkpoint_dir``; only
            rank 0 writes checkpoints and runs callbacks that record anything.
    """

    def __init__(
        self,
        spec: TrainSpec,
        *,
        seed: int = 0,
        callbacks: list[Callback] | None = None,
        checkpoint_dir: Path | None = None,
        distributed: DistributedContext = SINGLE,
    ) -> None:
        self.spec = with_transfer_groups(spec)
        self.seed = seed
        self.callbacks = CallbackList(list(callbacks or []))
        self.distributed = distributed
        self.device = distributed.device or select_device(spec.device)
        self.checkpoint_dir = checkpoint_dir
        self.module: nn.Module | None = None
        self.optimizer: torch.optim.Optimizer | None = None
        self.loop: Loop | None = None
        self.nan_guard: _NanGuard | None = None
        self.pending: list[tuple[str, float, int, int]] = []
        self.frozen: list[str] = []
        self.run_id: int | None = None
        """The store's id of the run being trained, when the Python API records one."""
        self._stop_reason: str | None = None

    # --- what the loop holds ------------------------------------------------------------

    @property
    def loss_fn(self) -> nn.Module | None:
        return getattr(self.loop, "loss_fn", None)

    @property
    def train_metrics(self) -> list[Any]:
        return getattr(self.loop, "train_metrics", [])

    @property
    def scaler(self) -> torch.amp.GradScaler | None:
        return getattr(self.loop, "scaler", None)

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
        device = self.device
        self._check_precision()
        module.to(device)
        if spec.channels_last:  # convolutions then run NHWC, whatever layout the inputs have
            module.to(memory_format=torch.channels_last)
        self.module = module
        self.frozen = freeze(module, spec.freeze) if spec.freeze else []
        self.frozen += [n for n in apply_transfer(module, spec.transfer) if n not in self.frozen]
        ranks = self.distributed
        forward: nn.Module = module
        if ranks.active:
            self._check_data_parallel(prepared)
            # DDP broadcasts rank 0's weights and buffers here: every rank starts alike.
            forward = nn.parallel.DistributedDataParallel(
                module, device_ids=[device.index] if device.type == "cuda" else None
            )
        if spec.compile:
            forward = torch.compile(forward)
        # The global batches of one process; each rank trains on its shard of each.
        batches = shard(
            prepared.batches("train", spec.batch_size, shuffle=True, seed=self.seed, device=device),
            ranks,
        )
        val = (
            shard(prepared.batches("val", spec.eval_batch_size, device=device), ranks)
            if prepared.size("val")
            else None
        )
        loop = loop_for(prepared.schema)
        self.loop = loop
        steps_per_epoch = loop.setup(self, module, forward, prepared, batches)
        thawing = (
            GradualUnfreezing(module, spec.transfer)
            if spec.transfer is not None and spec.transfer.preset == "gradual"
            else None
        )
        self.optimizer = loop.optimizer
        self._check_monitors(loop.monitors(), has_val=val is not None)
        self.nan_guard = _NanGuard(device) if spec.nan_guard else None
        state = TrainState(
            epochs=spec.epochs,
            steps_per_epoch=steps_per_epoch,
            batches_per_epoch=len(batches),
            batch_size=spec.batch_size,
            train_size=prepared.size("train"),
        )
        self.state = state
        self._epoch_lr = loop.optimizer.param_groups[0]["lr"]
        # Rank 0 draws what one process draws; the others their own dropout masks.
        torch.manual_seed(self.seed + ranks.rank)
        if resume_from is not None:
            self._restore(load_checkpoint(resume_from), resume_from)
        self._on_after_step = self.callbacks.has("on_after_optimizer_step")
        calls = self.callbacks
        module.train()
        calls.call("on_fit_start", self, state)
        try:
            while state.epoch < spec.epochs:
                if state.batch == 0:
                    self._epoch_lr = loop.optimizer.param_groups[0]["lr"]
                    state.epoch_started_at = time.perf_counter()
                    loop.start_epoch()
                if thawing is not None:
                    thawing.apply(state.epoch)
                calls.call("on_epoch_start", self, state)
                loop.run(self, state, batches, state.epoch, state.batch)
                if self._stop_reason is not None:
                    state.stop_reason = self._stop_reason
                    state.interrupted = True
                    break
                if self.nan_guard is not None:
                    self.nan_guard.check(state)
                self._finish_epoch(state, val)
                if ranks.active:  # rank 0's callbacks decide (early stopping, a pruner)
                    state.stop_reason, self._stop_reason = from_leader(
                        (state.stop_reason, self._stop_reason), ranks
                    )
                if state.stop_reason is not None:
                    break
                if self._stop_reason is not None and state.epoch < spec.epochs:
                    # asked during the epoch's end (a pruner judging validation metrics): stop
                    # here, with the epoch's checkpoint, rather than one step into the next
                    policy = self.spec.checkpoint
                    saved = self._checkpoint_due(step=False)
                    if self.checkpoint_dir is not None and policy.enabled and not saved:
                        self.save_checkpoint()
                    state.stop_reason = self._stop_reason
                    state.interrupted = True
                    break
            calls.call("on_fit_end", self, state)
        except BaseException as error:
            calls.call("on_exception", self, state, error)
            if ranks.active and not isinstance(error, PeerLost) and peer_failure(error):
                raise PeerLost(f"another rank of the run failed ({error})") from error
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

    def after_step(self, state: TrainState, index: int) -> bool:
        """Called by loops after each optimizer step: hooks, step checkpoints, stop requests.

        Returns:
            Whether the loop must return now (a stop was requested; a checkpoint is saved).
        """
        state.step += 1
        state.batch = index + 1
        if self._on_after_step:
            self.callbacks.call("on_after_optimizer_step", self, state)
        ranks = self.distributed
        if ranks.active and any_rank(self._stop_reason is not None, ranks):
            # a stop asked of one rank (SIGTERM reaches rank 0) stops them all at this step
            self._stop_reason = self._stop_reason or "stopped with the run's other ranks"
        if self._checkpoint_due(step=True) or self._stop_reason is not None:
            if self.nan_guard is not None:
                self.nan_guard.check(state)
            if self.checkpoint_dir is not None and self.spec.checkpoint.enabled:
                self.save_checkpoint()
        return self._stop_reason is not None

    def _check_monitors(self, available: list[str], *, has_val: bool) -> None:
        spec = self.spec
        monitors = {
            "early_stopping.monitor": getattr(spec.early_stopping, "monitor", None),
            "schedule.monitor": getattr(spec.schedule, "monitor", None),
        }
        for key, monitor in monitors.items():
            if monitor is None:
                continue
            if monitor.startswith("val_") and not has_val:
                raise UserError(
                    f"train.{key}: '{monitor}' needs a validation split, and the data has none; "
                    f"set data.split.val, or monitor the training split ('train_"
                    f"{monitor.removeprefix('val_')}')"
                )
            names = [f"{prefix}_{name}" for prefix in ("val", "train") for name in available]
            if monitor not in names:
                raise UserError(
                    f"train.{key}: '{monitor}' is not computed for this run; valid: "
                    + ", ".join(sorted(names))
                )

    def _check_data_parallel(self, prepared: Prepared) -> None:
        """What data-parallel training does not support, as a user error."""
        spec, world = self.spec, self.distributed.world_size
        if prepared.schema.task == "generation":
            raise UserError(
                f"job.resources.workers: {world} workers train supervised tasks only; "
                "a GAN (task generation) trains with workers: 1"
            )
        if spec.transfer is not None and spec.transfer.preset == "gradual":
            raise UserError(
                f"job.resources.workers: {world} workers cannot unfreeze layers gradually "
                "(train.transfer.preset: gradual); use workers: 1 or another preset"
            )
        if spec.batch_size < world:
            raise UserError(
                f"train.batch_size: {spec.batch_size} is smaller than job.resources.workers "
                f"({world}); each worker needs samples from every batch"
            )

    def _finish_epoch(self, state: TrainState, val: Any) -> None:
        """Epoch metrics, validation, plateau schedule, callbacks, epoch checkpoint."""
        results = self.loop.epoch_results()
        if val is not None:
            validation = self.loop.validate(val)
            results.update(validation)
            self.callbacks.call("on_validation_end", self, state, split_scalars(validation)[0])
        metrics, reports = split_scalars(results)
        state.reports.update(reports)
        metrics["lr"] = self._epoch_lr  # the rate the epoch started with
        metrics["epoch_seconds"] = time.perf_counter() - state.epoch_started_at
        self.loop.step_validation_schedule(metrics)
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
        scalars, self.test_reports = split_scalars(self.loop.test(prepared))
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
        assert self.module is not None
        return {
            "train_spec": self.spec.model_dump(mode="json"),
            "seed": self.seed,
            "position": {**self.state.position(), "epoch_lr": self._epoch_lr},
            "model": self.module.state_dict(),
            "loop": self.loop.state_dict(),
            "rng": rng_state(),
            "callbacks": self.callbacks.state_dict(),
            **(
                {"rank_rng": gather(rng_state(), self.distributed)}
                if self.distributed.active
                else {}
            ),
        }

    def save_checkpoint(self) -> Path | None:
        """Write a checkpoint named by the step; keep the newest ``checkpoint.keep``.

        With several ranks every rank calls this (the state sums the ranks' partial epoch
        and gathers their random states) and rank 0 alone writes; the others get ``None``.
        """
        assert self.checkpoint_dir is not None
        state = self.state_dict()
        if not self.distributed.leader:
            return None
        folder = CheckpointFolder(self.checkpoint_dir)
        path = save_checkpoint(state, folder.path_for(self.state.step))
        folder.prune(self.spec.checkpoint.keep)  # also what a write cut short by a kill left
        self.callbacks.call("on_checkpoint_save", self, self.state, path)
        return path

    def _restore(self, saved: dict[str, Any], path: Path) -> None:
        assert self.module is not None
        if saved["train_spec"] != self.spec.model_dump(mode="json") or saved["seed"] != self.seed:
            raise UserError(
                f"{path}: the training spec or seed differs from the one this checkpoint was "
                "written with; resume with the run's own spec"
            )
        self.module.load_state_dict(saved["model"])
        self.loop.load_state_dict(saved["loop"], self.device)
        self.state.restore(saved["position"])
        self._epoch_lr = saved["position"]["epoch_lr"]
        self.callbacks.load_state_dict(to_device(saved["callbacks"], self.device))
        rank = self.distributed.rank
        ranks_rng = saved.get("rank_rng") or []
        if rank == 0 or rank < len(ranks_rng):
            restore_rng_state(ranks_rng[rank] if rank else saved["rng"])
        # else: a rank the checkpoint's run did not have keeps its fresh seed
        self.callbacks.call("on_checkpoint_load", self, self.state, path)


def latest_checkpoint(folder: Path) -> Path | None:
    """The newest checkpoint in ``folder``, if any (see :class:`CheckpointFolder`)."""
    return CheckpointFolder(folder).newest()


__all__ = ["FitResult", "Trainer", "TrainingDiverged", "latest_checkpoint"]
