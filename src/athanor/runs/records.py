"""Stored runs: ``athanor.runs.list()``, ``athanor.runs.get(3)``, ``athanor.runs.show(3)``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from athanor.runs.evaluation_files import evaluation_dir, read_evaluation
from athanor.runs.recovery import reconcile_orphans
from athanor.settings import Settings
from athanor.store import RunRecord, Store, open_store


def run_folder(store: Store, run_id: int) -> Path:
    """A run's artifact folder, with its evaluation fetched from the artifact bucket when
    this machine lacks it (the run ran on another one)."""
    run_dir = store.artifacts.run_dir(run_id)
    store.artifacts.fetch(evaluation_dir(run_dir))
    return run_dir


def list(
    *,
    limit: int = 50,
    offset: int = 0,
    status: str | None = None,
    name: str | None = None,
    archived: bool | None = False,
    settings: Settings | None = None,
) -> list[RunRecord]:
    """Runs, newest first; runs whose process died are marked failed first.

    Args:
        archived: only archived (deleted, restorable) runs (True), only the others (False,
            the default), or both (None).
    """
    store = open_store(settings)
    reconcile_orphans(store)
    return store.runs.list(limit=limit, offset=offset, status=status, name=name, archived=archived)


def get(run_id: int, *, settings: Settings | None = None) -> RunRecord:
    store = open_store(settings)
    reconcile_orphans(store)
    return store.runs.get(run_id)


def show(run_id: int, *, settings: Settings | None = None) -> dict[str, Any]:
    """A run's record with its per-epoch metrics (``{"metrics": {name: [values]}}``) and its
    stored evaluation (``None`` when it has none, see :mod:`athanor.runs.evaluation`)."""
    store = open_store(settings)
    reconcile_orphans(store)
    record = store.runs.get(run_id)
    series = store.runs.metrics(run_id)
    epochs: dict[str, list[dict[str, float]]] = {
        name: [{"epoch": p.epoch, "step": p.step, "value": p.value} for p in points]
        for name, points in series.items()
    }
    return {
        **record.to_json(),
        "metrics": epochs,
        "artifacts": str(store.artifacts.run_dir(run_id)),
        "evaluation": read_evaluation(run_folder(store, run_id)),
    }


def get_evaluation(run_id: int, *, settings: Settings | None = None) -> dict[str, Any] | None:
    """The stored evaluation of a run on its test split, or ``None`` when it has none.

    Raises:
        NotFound: no such run.
    """
    store = open_store(settings)
    store.runs.get(run_id)
    return read_evaluation(run_folder(store, run_id))
