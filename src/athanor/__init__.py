"""Athanor: a self-hosted, one-stop deep-learning platform on PyTorch.

The Python API mirrors the CLI::

    import athanor as at

    run = at.train("examples/mnist-cnn.yaml", overrides={"train.epochs": 1})
    model = at.models.load("mnist-cnn")
    model.predict(images)

Heavy libraries (torch, scikit-learn) are imported only when an operation needs them, so
``import athanor`` stays fast.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from athanor._lazy import lazy_attributes

# PyTorch puts its CPU tensors of 2 MB and more on transparent huge pages with this (its own
# opt-in, read once when torch starts: set here, before anything imports torch). A batch of
# 128 images of 224x224 in float32 is 77 MB, allocated afresh for every batch; on 4 KB pages
# it faults in 19,000 times, which took longer than the arithmetic on it. Set it to 0 to
# keep the system's pages.
os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")

__version__ = "0.1.0"

# Public name -> "module:attribute" (attribute empty: the module itself).
_LAZY = {
    "train": "athanor.runs.pipeline:train",
    "resume": "athanor.runs.pipeline:resume",
    "load_spec": "athanor.spec.loading:load_spec",
    "models": "athanor.api.models:",
    "runs": "athanor.runs:",
    "datasets": "athanor.api.datasets:",
    "errors": "athanor.errors:",
    "summary": "athanor.api.networks:summarize",
    "estimate": "athanor.api.estimates:estimate",
    "tune": "athanor.tuning.search:tune",
    "searches": "athanor.api.searches:",
    "auto": "athanor.tuning.automl:auto",
}

__all__ = ["__version__", *_LAZY]

if TYPE_CHECKING:  # pragma: no cover
    from athanor import (
        errors,  # noqa: F401
        runs,  # noqa: F401
    )
    from athanor.api import datasets, models, searches  # noqa: F401
    from athanor.api.estimates import estimate  # noqa: F401
    from athanor.api.networks import summarize as summary  # noqa: F401
    from athanor.runs.pipeline import resume, train  # noqa: F401
    from athanor.spec.loading import load_spec  # noqa: F401
    from athanor.tuning.automl import auto  # noqa: F401
    from athanor.tuning.search import tune  # noqa: F401


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
