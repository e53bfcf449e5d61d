"""The callback interface: explicit hooks called by the trainer at fixed points.

Only the hooks a callback overrides are called, so a hook nobody uses costs nothing per batch.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from athanor.training.state import TrainState
    from athanor.training.trainer import Trainer

HOOKS = (
    "on_fit_start",
    "on_epoch_start",
    "on_batch_start",
    "on_before_backward",
    "on_after_optimizer_step",
    "on_batch_end",
    "on_validation_end",
    "on_epoch_end",
    "on_fit_end",
    "on_exception",
    "on_checkpoint_save",
    "on_checkpoint_load",
)


class Callback:
    """Override any hook; each receives the trainer and its mutable :class:`TrainState`.

    A callback with state that must survive a resume (early stopping's best value...)
    returns it from :meth:`state_dict`; it is saved in every checkpoint under the callback's
    :attr:`state_key`, so a resume with other callbacks around it (a progress bar added in
    front) still gives each callback its own state.
    """

    @property
    def state_key(self) -> str:
        """The name this callback's state is saved under (default: the class name).

        Two callbacks of one list with the same key are told apart by their order
        (``EarlyStopping``, ``EarlyStopping#2``); override this to name them yourself.
        """
        return type(self).__name__

    def state_dict(self) -> dict[str, Any]:
        """State to keep in checkpoints (tensors allowed); default none."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""

    def on_fit_start(self, trainer: Trainer, state: TrainState) -> None:
        """Before the first epoch (also when resuming)."""

    def on_epoch_start(self, trainer: Trainer, state: TrainState) -> None:
        """Before the first batch of an epoch."""

    def on_batch_start(self, trainer: Trainer, state: TrainState) -> None:
        """Before the forward pass of a batch."""

    def on_before_backward(self, trainer: Trainer, state: TrainState, loss: torch.Tensor) -> None:
        """After the loss is computed, before ``backward``."""

    def on_after_optimizer_step(self, trainer: Trainer, state: TrainState) -> None:
        """After the optimizer (and a per-step schedule) stepped."""

    def on_batch_end(self, trainer: Trainer, state: TrainState, loss: torch.Tensor) -> None:
        """After a training batch; ``loss`` is the batch's detached loss (on the device)."""

    def on_validation_end(
        self, trainer: Trainer, state: TrainState, metrics: dict[str, float]
    ) -> None:
        """After validation; ``metrics`` holds ``val_*`` values."""

    def on_epoch_end(self, trainer: Trainer, state: TrainState, metrics: dict[str, float]) -> None:
        """After an epoch; ``metrics`` holds ``train_*`` and ``val_*`` values. May set
        ``state.stop_reason`` to end training."""

    def on_fit_end(self, trainer: Trainer, state: TrainState) -> None:
        """After the last epoch, or after an early stop."""

    def on_exception(self, trainer: Trainer, state: TrainState, error: BaseException) -> None:
        """When training fails or is interrupted; the error is re-raised afterwards."""

    def on_checkpoint_save(self, trainer: Trainer, state: TrainState, path: Path) -> None:
        """After a checkpoint was written to ``path``."""

    def on_checkpoint_load(self, trainer: Trainer, state: TrainState, path: Path) -> None:
        """After training state was restored from the checkpoint at ``path``."""


class CallbackList:
    """Dispatches each hook to the callbacks that override it; saves and restores their state
    by :attr:`Callback.state_key`."""

    def __init__(self, callbacks: list[Callback]) -> None:
        self.callbacks = callbacks
        self._by_hook = {
            hook: [
                getattr(cb, hook)
                for cb in callbacks
                if getattr(type(cb), hook) is not getattr(Callback, hook)
            ]
            for hook in HOOKS
        }

    def has(self, hook: str) -> bool:
        return bool(self._by_hook[hook])

    def call(self, hook: str, *args: Any) -> None:
        for method in self._by_hook[hook]:
            method(*args)

    def state_keys(self) -> list[str]:
        """Each callback's key in checkpoints, in list order (repeats get ``#2``, ``#3``...)."""
        return _numbered([cb.state_key for cb in self.callbacks])

    def state_dict(self) -> dict[str, dict[str, Any]]:
        """Every callback's state by its key."""
        return {
            key: cb.state_dict() for key, cb in zip(self.state_keys(), self.callbacks, strict=True)
        }

    def load_state_dict(self, saved: dict[str, dict[str, Any]]) -> None:
        """Give each callback the state saved under its key.

        State saved for a callback that is not in this list is left unused (a run resumed
        without a callback it was started with); a callback with nothing (or an empty state)
        saved keeps its own.
        Checkpoints written when state was keyed by position (``"0:EarlyStopping"``) are read
        by class name.
        """
        if any(_POSITIONAL.match(key) for key in saved):
            ordered = sorted(saved.items(), key=lambda item: int(item[0].split(":", 1)[0]))
            names = _numbered([key.split(":", 1)[1] for key, _ in ordered])
            saved = {name: state for name, (_, state) in zip(names, ordered, strict=True)}
        for key, cb in zip(self.state_keys(), self.callbacks, strict=True):
            if saved.get(key):  # empty: saved before the callback kept any state
                cb.load_state_dict(saved[key])


_POSITIONAL = re.compile(r"^\d+:")


def _numbered(keys: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    numbered = []
    for key in keys:
        seen[key] = seen.get(key, 0) + 1
        numbered.append(key if seen[key] == 1 else f"{key}#{seen[key]}")
    return numbered
