"""Deleting imported datasets and versions: dependents, refusals, files, numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

import athanor as at
from athanor.data.removal import dataset_dependents, delete_dataset
from athanor.errors import Conflict, DatasetNotFound
from athanor.store import DatasetVersionRecord, RunStatus, open_store

TABLE = "a,y\n" + "".join(f"{i},{i % 2}\n" for i in range(20))


def _import(tmp_path: Path, text: str, name: str = "t") -> DatasetVersionRecord:
    path = tmp_path / f"{abs(hash(text))}.csv"
    path.write_text(text)
    return at.datasets.import_dataset(path, name=name, target="y").version


def test_runs_on_the_newest_version_count_for_the_version_newest_when_they_were_created(
    tmp_path: Path,
) -> None:
    store = open_store()
    first = _import(tmp_path, TABLE)
    early = store.runs.create({}, name="early", dataset="t", status=RunStatus.QUEUED)
    second = _import(tmp_path, TABLE + "99,1\n")
    late = store.runs.create({}, name="late", dataset="t@latest", status=RunStatus.QUEUED)
    by_hash = store.runs.create({}, name="hash", dataset=f"t@{first.short_hash}",
                                status=RunStatus.QUEUED)  # fmt: skip
    assert [r.id for r in dataset_dependents(store, "t@1").active_jobs] == [by_hash.id, early.id]
    assert [r.id for r in dataset_dependents(store, "t@2").active_jobs] == [late.id]
    with pytest.raises(Conflict, match=rf"cannot delete t@2: jobs train on it \(#{late.id} late"):
        delete_dataset(store, "t@2")
    for run in (early, late, by_hash):
        store.runs.finish(run.id, RunStatus.SUCCEEDED, "done")
    assert dataset_dependents(store, "t").runs == 3

    assert [r.ref for r in delete_dataset(store, "t@2")] == [second.ref]
    assert not store.artifacts.resolve(second.path).exists()
    third = _import(tmp_path, TABLE + "77,0\n")
    assert third.number == 3  # a deleted version's number is never given again
    delete_dataset(store, "t")
    assert not store.datasets.exists("t")
    with pytest.raises(DatasetNotFound):
        dataset_dependents(store, "t")


def test_content_shared_by_two_names_keeps_its_folder_until_the_last_goes(tmp_path: Path) -> None:
    store = open_store()
    one = _import(tmp_path, TABLE, "one")
    two = _import(tmp_path, TABLE, "two")
    assert one.path == two.path
    delete_dataset(store, "one")
    assert store.artifacts.resolve(two.path).exists()
    delete_dataset(store, "two@1")
    assert not store.artifacts.resolve(two.path).exists()


def test_a_labeling_project_keeps_its_version(tmp_path: Path) -> None:
    from athanor.label.projects import create_project

    store = open_store()
    path = tmp_path / "notes.csv"
    path.write_text("text,y\n" + "".join(f"note number {i},{i % 2}\n" for i in range(10)))
    version = at.datasets.import_dataset(path, name="t", target="y", kind="documents").version
    create_project(store, "p", version.ref, kind="text")
    assert dataset_dependents(store, "t").projects == ["p"]
    with pytest.raises(Conflict, match=r"labeling projects are built on it \(p\)"):
        delete_dataset(store, "t@1")
