"""Training loops by task: supervised (most tasks) and adversarial (generation)."""

from __future__ import annotations

from athanor.data.schema import Schema
from athanor.training.loops.base import Loop
from athanor.training.loops.supervised import SupervisedLoop


def loop_for(schema: Schema) -> Loop:
    """A fresh loop for the task of ``schema``."""
    if schema.task == "generation":
        from athanor.training.loops.gan import GanLoop

        return GanLoop()
    return SupervisedLoop()


__all__ = ["Loop", "SupervisedLoop", "loop_for"]
