"""The interface between the trainer and what one epoch of training does with its batches.

The trainer owns the run: device, epochs, callbacks, checkpoints (position, random states,
callback state), resume and stopping. A loop owns the optimization: its optimizers,
schedules, losses, the epoch's running sums, and how a batch is turned into updates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from athanor.data.batching import BatchSource
from athanor.data.prepare import Prepared

if TYPE_CHECKING:
    from athanor.training.state import TrainState
    from athanor.training.trainer import Trainer


class Loop:
    """One way of training; subclasses implement every method."""

    optimizer: torch.optim.Optimizer
    """The optimizer whose learning rate is reported (the generator's for a GAN)."""

    def setup(
        self,
        trainer: Trainer,
        module: nn.Module,
        forward: nn.Module,
        prepared: Prepared,
        batches: BatchSource,
    ) -> int:
        """Create optimizers, losses and metrics; return optimizer steps per epoch."""
        raise NotImplementedError

    def monitors(self) -> list[str]:
        """Names this loop reports each epoch that may be monitored (``val_loss``...)."""
        raise NotImplementedError

    def start_epoch(self) -> None:
        """Reset the epoch's running sums."""
        raise NotImplementedError

    def run(
        self, trainer: Trainer, state: TrainState, batches: BatchSource, epoch: int, start: int
    ) -> None:
        """Train on the batches of ``epoch`` from ``start``; call ``trainer.after_step`` after
        each optimizer step and return early when it says to stop."""
        raise NotImplementedError

    def epoch_results(self) -> dict[str, Any]:
        """The epoch's ``train_*`` values."""
        raise NotImplementedError

    def validate(self, batches: BatchSource) -> dict[str, Any]:
        """``val_*`` values on the validation split."""
        raise NotImplementedError

    def test(self, prepared: Prepared) -> dict[str, Any]:
        """``test_*`` values on the test split, once."""
        raise NotImplementedError

    def step_validation_schedule(self, metrics: dict[str, float]) -> None:
        """Step schedules driven by validation metrics (plateau)."""

    def state_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def load_state_dict(self, state: dict[str, Any], device: torch.device) -> None:
        raise NotImplementedError
