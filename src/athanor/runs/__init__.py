"""Runs: one run end to end (prepare → build → fit → package → register), testing once
after selection, the callbacks a run is trained with, and its stored records.

``tuning/`` and ``jobs/`` sit above this layer and train through it. The package is also the
Python API's ``athanor.runs``: ``list``, ``get`` and ``show`` read the store without importing
torch; the pipeline's names are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from athanor.runs.records import get, get_evaluation, list, show

if TYPE_CHECKING:  # pragma: no cover
    from athanor.runs.pipeline import StopRecorder, execute, resume, train
    from athanor.runs.report import write_report
    from athanor.runs.result import TrainedRun
    from athanor.runs.testing import TestedRun, test_run

_PIPELINE = {
    "StopRecorder": "athanor.runs.pipeline",
    "execute": "athanor.runs.pipeline",
    "resume": "athanor.runs.pipeline",
    "train": "athanor.runs.pipeline",
    "TrainedRun": "athanor.runs.result",
    "TestedRun": "athanor.runs.testing",
    "test_run": "athanor.runs.testing",
    "write_report": "athanor.runs.report",
}

__all__ = ["StopRecorder", "TestedRun", "TrainedRun", "execute", "get", "get_evaluation", "list"]
__all__ += ["resume", "show", "test_run", "train", "write_report"]


def __getattr__(name: str) -> Any:
    module = _PIPELINE.get(name)
    if module is None:
        raise AttributeError(f"module 'athanor.runs' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
