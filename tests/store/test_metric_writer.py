"""The background metric writer batches points and writes everything by close()."""

from __future__ import annotations

import time

import pytest

from athanor.store import open_store
from athanor.store.metric_writer import MetricWriter

pytestmark = pytest.mark.usefixtures("backend")


def test_points_reach_the_database_in_the_background_and_on_close() -> None:
    store = open_store()
    run = store.runs.create({}, name="w")
    writer = MetricWriter(store.runs, run.id, flush_seconds=0.05, heartbeat_seconds=0.05)
    before = store.runs.get(run.id).heartbeat_at
    writer.add("loss", 1.0, step=1, epoch=1)
    deadline = time.monotonic() + 5
    while not store.runs.metrics(run.id) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [p.value for p in store.runs.metrics(run.id)["loss"]] == [1.0]
    for step in range(2, 200):
        writer.add("loss", float(step), step=step, epoch=1)
    writer.close()
    assert len(store.runs.metrics(run.id)["loss"]) == 199
    assert store.runs.get(run.id).heartbeat_at > before
