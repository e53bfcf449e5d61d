"""Runs and metrics in a real SQLite store."""

from __future__ import annotations

import socket

import pytest

from athanor.errors import NotFound
from athanor.store import Lease, MetricPoint, RunStatus, StatusChange, open_store

pytestmark = pytest.mark.usefixtures("backend")


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


def test_a_status_change_is_applied_only_from_the_statuses_it_expects() -> None:
    store = open_store()
    run = store.runs.create({}, name="t")
    from_queued = StatusChange(RunStatus.FAILED, "nope", frozenset({RunStatus.QUEUED}))
    assert store.runs.transition(run.id, from_queued) is None
    assert store.runs.get(run.id).status == RunStatus.RUNNING
    stop = StatusChange(RunStatus.CANCELLED, "stopped at step 3", frozenset({RunStatus.RUNNING}))
    stopped = store.runs.transition(run.id, stop, summary={"steps": 3})
    assert stopped is not None and stopped.status == RunStatus.CANCELLED
    assert stopped.status_reason == "stopped at step 3" and stopped.finished_at is not None
    assert stopped.summary == {"steps": 3}
    # a run that ended is not ended again by a late writer
    assert store.runs.finish(run.id, RunStatus.FAILED, "late").status == RunStatus.CANCELLED
    again = StatusChange(RunStatus.RUNNING, "resumed", frozenset({RunStatus.CANCELLED}))
    owner = Lease(4242, "elsewhere")
    resumed = store.runs.transition(run.id, again, owner=owner)
    assert resumed.status == RunStatus.RUNNING and resumed.finished_at is None
    assert (resumed.pid, resumed.host, resumed.lease.pid) == (4242, "elsewhere", 4242)
    assert resumed.heartbeat_at is not None
    with pytest.raises(NotFound):
        store.runs.transition(999, again)


def test_held_on_lists_the_running_runs_of_a_host() -> None:
    store = open_store()
    mine = store.runs.create({}, name="mine")
    store.runs.create({}, name="done")
    store.runs.finish(mine.id + 1, RunStatus.SUCCEEDED, "completed")
    assert [run.id for run in store.runs.held_on(socket.gethostname())] == [mine.id]
    assert store.runs.held_on("another-host") == []
