"""Runs from the Python API: ``athanor.runs.list()``, ``athanor.runs.show(3)``.

``athanor.runs`` is the :mod:`athanor.runs` layer itself; this module re-exports its records.
"""

from __future__ import annotations

from athanor.runs.records import get, list, show

__all__ = ["get", "list", "show"]
