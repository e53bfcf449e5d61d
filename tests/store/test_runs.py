"""Runs and metrics in a real SQLite store."""

from __future__ import annotations

import subprocess
import sys

import pytest

from athanor.errors import NotFound
from athanor.store import MetricPoint, RunStatus, open_store


def test_run_lifecycle_and_summary_merge() -> None:
    store = open_store()
    run = store.runs.create({"name": "x"}, name="x", dataset="digits")
    assert run.status == RunStatus.RUNNING and run.pid is not None and run.started_at
    store.runs.update(run.id, summary={"device": "cpu"})
    done = store.runs.finish(run.id, RunStatus.SUCCEEDED, "completed", {"metrics": {"a": 1.0}})
    assert done.status == RunStatus.SUCCEEDED and done.status_reason == "completed"
    assert done.summary == {"device": "cpu", "metrics": {"a": 1.0}}
    assert done.finished_at >= done.started_at
    assert done.to_json()["status"] == "succeeded"
    with pytest.raises(ValueError):
        store.runs.finish(run.id, RunStatus.RUNNING)


def test_list_filters_and_orders_newest_first() -> None:
    store = open_store()
    ids = [store.runs.create({}, name=f"r{i}").id for i in range(5)]
    store.runs.finish(ids[1], RunStatus.FAILED, "boom")
    assert [r.id for r in store.runs.list()] == ids[::-1]
    assert [r.id for r in store.runs.list(limit=2, offset=1)] == ids[3:1:-1]
    assert [r.id for r in store.runs.list(status="failed")] == [ids[1]]
    assert store.runs.count(status=RunStatus.RUNNING) == 4
    with pytest.raises(NotFound, match="run 999 does not exist"):
        store.runs.get(999)


def test_metrics_are_written_in_batches_and_read_in_step_order() -> None:
    store = open_store()
    run = store.runs.create({}, name="m")
    store.runs.log_metrics(
        run.id,
        [
            MetricPoint("val_loss", 20, 2, 0.5, 1.0),
            MetricPoint("val_loss", 10, 1, 0.9, 0.5),
            MetricPoint("train_loss", 10, 1, 1.2, 0.5),
        ],
    )
    series = store.runs.metrics(run.id)
    assert [p.value for p in series["val_loss"]] == [0.9, 0.5]
    assert list(store.runs.metrics(run.id, ["train_loss"])) == ["train_loss"]
    store.runs.delete(run.id)
    assert store.runs.metrics(run.id) == {}


def test_a_run_whose_process_died_is_marked_failed() -> None:
    store = open_store()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = store.runs.create({}, name="dead")
    store.runs.update(dead.id, pid=child.pid)
    alive = store.runs.create({}, name="alive")  # this very process
    assert store.runs.reconcile_orphans() == [dead.id]
    record = store.runs.get(dead.id)
    assert record.status == RunStatus.FAILED
    assert f"pid {child.pid}" in record.status_reason and "ended without finishing" in (
        record.status_reason
    )
    assert store.runs.get(alive.id).status == RunStatus.RUNNING
