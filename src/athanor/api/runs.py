"""Runs from the Python API: ``athanor.runs.list()``, ``athanor.runs.show(3)``.

``athanor.runs`` is the :mod:`athanor.runs` layer itself; this module re-exports its records.
"""

from __future__ import annotations

from athanor.runs.records import evaluation, get, list, show
from athanor.runs.report import write_report as report

__all__ = ["evaluation", "get", "list", "report", "show"]
