"""Training runs from the Python API: ``athanor.train(spec)`` and ``athanor.resume(run_id)``.

The pipeline lives in :mod:`athanor.runs`; this module re-exports it for notebooks and scripts.
"""

from __future__ import annotations

from athanor.runs import StopRecorder, TestedRun, TrainedRun, execute, resume, test_run, train

__all__ = ["StopRecorder", "TestedRun", "TrainedRun", "execute", "resume", "test_run", "train"]
