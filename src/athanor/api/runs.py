"""Runs from the Python API: ``athanor.runs.list()``, ``athanor.runs.show(3)``.

``athanor.runs`` is the :mod:`athanor.runs` layer itself; this module re-exports its records.
"""

from __future__ import annotations

from athanor.runs.records import get, get_evaluation, list, show
from athanor.runs.report import write_report as report

evaluation = get_evaluation

__all__ = ["evaluation", "get", "get_evaluation", "list", "report", "show"]
