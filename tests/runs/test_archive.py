"""Runs deleted into the archive: only final ones, hidden from lists, restored, purged."""

from __future__ import annotations

import pytest

from athanor.errors import Conflict, NotFound
from athanor.runs.archive import archive_run, purge_run, restore_run, run_dependents
from athanor.store import RunStatus, open_store

pytestmark = pytest.mark.usefixtures("backend")


def test_a_final_run_is_archived_hidden_restored_and_purged_with_its_folder() -> None:
    store = open_store()
    run = store.runs.create({}, name="old", status=RunStatus.QUEUED)
    other = store.runs.create({}, name="other", status=RunStatus.QUEUED)
    with pytest.raises(Conflict, match=f"run {run.id} is queued: cancel it first"):
        archive_run(store, run.id)
    store.runs.finish(run.id, RunStatus.SUCCEEDED, "done")
    store.models.add_version("old-model", version=1, path="models/x", content_hash="0" * 64,
                             run_id=run.id)  # fmt: skip
    assert run_dependents(store, run.id).model_versions == ["old-model@1"]

    archived = archive_run(store, run.id)
    assert archived.archived and archive_run(store, run.id).archived_at == archived.archived_at
    assert [r.id for r in store.runs.list(archived=False)] == [other.id]
    assert [r.id for r in store.runs.list(archived=True)] == [run.id]
    assert store.runs.count(archived=None) == 2
    assert [j.id for j in store.jobs.list(archived=True)] == []  # not a job

    assert not restore_run(store, run.id).archived
    with pytest.raises(Conflict, match="not archived"):
        purge_run(store, run.id)
    folder = store.artifacts.run_dir(run.id)
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text("{}")
    archive_run(store, run.id)
    purge_run(store, run.id)
    assert not folder.exists()
    with pytest.raises(NotFound):
        store.runs.get(run.id)
    assert store.models.get("old-model", 1).run_id is None  # the version stays
