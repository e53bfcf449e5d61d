"""Runs from the Python API: ``athanor.runs.list()``, ``athanor.runs.show(3)``.

``athanor.runs`` is the :mod:`athanor.runs` layer itself; this module re-exports its records.
"""

from __future__ import annotations

from athanor.runs.archive import RunDependents, archive_run, purge_run, restore_run, run_dependents
from athanor.runs.records import get, get_evaluation, list, show
from athanor.runs.report import write_report as report
from athanor.settings import Settings
from athanor.store import RunRecord, open_store

evaluation = get_evaluation


def dependents(run_id: int, *, settings: Settings | None = None) -> RunDependents:
    """The model versions registered from run ``run_id`` (they stay when it is deleted)."""
    return run_dependents(open_store(settings), run_id)


def delete(run_id: int, *, purge: bool = False, settings: Settings | None = None) -> RunRecord:
    """Archive a finished run (restorable), or with ``purge`` remove an archived one for good.

    Raises:
        NotFound: no such run.
        Conflict: the run is queued or running (cancel it first); ``purge`` of a run that
            is not archived.
    """
    store = open_store(settings)
    return purge_run(store, run_id) if purge else archive_run(store, run_id)


def restore(run_id: int, *, settings: Settings | None = None) -> RunRecord:
    """Bring an archived run back into the lists."""
    return restore_run(open_store(settings), run_id)


__all__ = [
    "delete",
    "dependents",
    "evaluation",
    "get",
    "get_evaluation",
    "list",
    "report",
    "restore",
    "show",
]
