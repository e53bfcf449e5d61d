"""The archive of runs: a trash that finished runs (and jobs) move into and come back from.

As in MLflow, deleting a run only archives it: lists hide it, its record, metrics and files
stay, and it can be restored. Only a final run is archived (a queued or running one is
cancelled first), and what it registered stays registered. Purging an archived run removes
its record and its folder for good; model versions registered from it keep their own copy
of the package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from athanor.errors import Conflict
from athanor.store import RunRecord, Store


@dataclass(frozen=True)
class RunDependents:
    """What depends on a run: the model versions registered from it (they stay)."""

    run: RunRecord
    model_versions: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.run.id,
            "status": str(self.run.status),
            "archived": self.run.archived,
            "model_versions": self.model_versions,
        }


def run_dependents(store: Store, run_id: int) -> RunDependents:
    """The run and the model versions registered from it.

    Raises:
        NotFound: no such run.
    """
    run = store.runs.get(run_id)
    versions = store.models.from_runs([run_id])
    return RunDependents(run, [record.ref for record in versions])


def archive_run(store: Store, run_id: int) -> RunRecord:
    """Move a final run into the archive (an archived one is returned as it is).

    Raises:
        NotFound: no such run.
        Conflict: the run is queued or running (cancel it first).
    """
    current = store.runs.get(run_id)
    if current.archived:
        return current
    record = store.runs.set_archived(run_id, True)
    if record is None:  # not final (now)
        status = store.runs.get(run_id).status
        raise Conflict(
            f"run {run_id} is {status}: cancel it first "
            f"('athanor jobs cancel {run_id}' or the job page's Cancel), then delete it"
        )
    return record


def restore_run(store: Store, run_id: int) -> RunRecord:
    """Bring an archived run back into the lists (a run not archived is returned as it is).

    Raises:
        NotFound: no such run.
    """
    current = store.runs.get(run_id)
    if not current.archived:
        return current
    return store.runs.set_archived(run_id, False) or store.runs.get(run_id)


def purge_run(store: Store, run_id: int) -> RunRecord:
    """Delete an archived run for good: its record, metrics, job and folder.

    Raises:
        NotFound: no such run.
        Conflict: the run is not archived (archive it first, so that nothing is purged by
            one mistaken call).
    """
    current = store.runs.get(run_id)
    if not current.archived:
        raise Conflict(f"run {run_id} is not archived: archive it first, then purge it")
    store.runs.delete(run_id)  # the rows go first: no reader finds a folder being removed
    store.artifacts.delete(store.artifacts.run_dir(run_id))
    return current
