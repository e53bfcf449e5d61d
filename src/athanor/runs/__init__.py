"""Runs: one run end to end (prepare → build → fit → package → register), testing once
after selection, and the callbacks a run is trained with.

``tuning/`` and ``jobs/`` sit above this layer and train through it; ``api/`` re-exports it.
"""

from __future__ import annotations

from athanor.runs.pipeline import StopRecorder, execute, resume, train
from athanor.runs.result import TrainedRun
from athanor.runs.testing import TestedRun, test_run

__all__ = ["StopRecorder", "TestedRun", "TrainedRun", "execute", "resume", "test_run", "train"]
