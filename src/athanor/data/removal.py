"""Deleting imported datasets and versions: what depends on them, and what refuses it.

A version is deleted for good (its row, and its files once no other version shares them):
imported data is large and the original file can be imported again. What would break is
refused instead: a queued or running job that trains on it, a labeling project built on it.
Model versions trained on it keep working (a package holds its own preprocessing); they
can no longer be trained again from the same data, which the confirmation says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from athanor.data.versions import split_ref
from athanor.errors import Conflict
from athanor.store import DatasetVersionRecord, RunRecord, Store


@dataclass(frozen=True)
class DatasetDependents:
    """What depends on the dataset versions a deletion would remove.

    Attributes:
        versions: the versions to delete (every version of a name, or one).
        active_jobs: queued or running runs on them: they refuse the deletion.
        projects: labeling projects built on them: they refuse the deletion.
        model_versions: model versions trained on them (``NAME@VERSION``): they stay.
        runs: how many finished runs trained on them: their records stay.
    """

    versions: list[DatasetVersionRecord]
    active_jobs: list[RunRecord]
    projects: list[str]
    model_versions: list[str]
    runs: int

    def to_json(self) -> dict[str, Any]:
        return {
            "versions": [record.ref for record in self.versions],
            "active_jobs": [{"id": run.id, "name": run.name} for run in self.active_jobs],
            "projects": self.projects,
            "model_versions": self.model_versions,
            "runs": self.runs,
        }


def dataset_dependents(store: Store, ref: str) -> DatasetDependents:
    """What depends on ``ref``: ``NAME`` (every version) or ``NAME@VERSION`` (one).

    Raises:
        DatasetNotFound: no such imported dataset or version.
    """
    name, selector = split_ref(ref)
    every = store.datasets.versions(name)
    targets = every if selector is None else [store.datasets.get(name, selector)]
    if not every:
        store.datasets.get(name)  # raises DatasetNotFound, naming what exists
    wanted = {record.number for record in targets}
    runs = [run for run in store.runs.runs_on(name) if _version_used(run, every) in wanted]
    refs = {record.ref for record in targets}
    projects = [p.name for p in store.labeling.list_projects() if p.dataset in refs]
    final = [run for run in runs if run.status.final]
    trained = store.models.from_runs([run.id for run in final])
    return DatasetDependents(
        versions=targets,
        active_jobs=[run for run in runs if not run.status.final],
        projects=projects,
        model_versions=[record.ref for record in trained],
        runs=len(final),
    )


def delete_dataset(store: Store, ref: str) -> list[DatasetVersionRecord]:
    """Delete ``NAME`` (every version) or ``NAME@VERSION`` and the files no other version
    shares; returns the deleted versions.

    Raises:
        DatasetNotFound: no such imported dataset or version.
        Conflict: a queued or running job trains on it, or a labeling project is built on
            it (naming them); nothing is deleted.
    """
    found = dataset_dependents(store, ref)
    if found.active_jobs:
        jobs = ", ".join(f"#{run.id} {run.name} ({run.status})" for run in found.active_jobs)
        raise Conflict(
            f"cannot delete {ref}: jobs train on it ({jobs}); cancel them or wait until they end",
            code="conflict_in_use",
            params={"name": ref, "users": [f"#{run.id} {run.name}" for run in found.active_jobs]},
        )
    if found.projects:
        raise Conflict(
            f"cannot delete {ref}: labeling projects are built on it "
            f"({', '.join(found.projects)}); delete those projects first",
            code="conflict_in_use",
            params={"name": ref, "users": list(found.projects)},
        )
    deleted = []
    for record in found.versions:
        deleted.append(store.datasets.delete_version(record.name, record.number))
        # The row goes first, so no reader resolves to a folder being removed; identical
        # content imported under two names shares one folder.
        if store.datasets.uses_of(record.path) == 0:
            store.artifacts.delete(store.artifacts.resolve(record.path))
    return deleted


def _version_used(run: RunRecord, versions: list[DatasetVersionRecord]) -> int | None:
    """The number of the version a run on this dataset trains (trained) on.

    ``NAME`` or ``NAME@latest`` meant the newest version when the run was created.
    """
    _name, selector = split_ref(run.dataset)
    if selector is None or selector == "latest":
        older = [r for r in versions if r.created_at <= run.created_at]
        chosen = max(older or versions, key=lambda r: r.number) if versions else None
        return chosen.number if chosen is not None else None
    if selector.isdigit():
        return int(selector)
    matches = [r for r in versions if len(selector) >= 4 and r.content_hash.startswith(selector)]
    return matches[0].number if len(matches) == 1 else None
