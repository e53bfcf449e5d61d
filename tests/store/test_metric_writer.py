"""The background metric writer batches points and writes everything by close()."""

from __future__ import annotations

import itertools
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


class _TimedRuns:
    """The real repository, with the time of each metric write noted."""

    def __init__(self, runs) -> None:
        self.runs = runs
        self.writes: list[float] = []

    def log_metrics(self, run_id, points) -> None:
        self.writes.append(time.monotonic())
        self.runs.log_metrics(run_id, points)

    def heartbeat(self, run_id) -> None:
        self.runs.heartbeat(run_id)


def test_epoch_ends_within_the_gap_share_one_write_and_close_does_not_wait_for_it() -> None:
    store = open_store()
    run = store.runs.create({}, name="w")
    timed = _TimedRuns(store.runs)
    started = time.monotonic()
    writer = MetricWriter(timed, run.id, flush_seconds=5, min_gap_seconds=0.3)  # type: ignore[arg-type]
    for epoch in range(1, 41):  # millisecond epochs, each asking for a write at its end
        writer.add("loss", float(epoch), step=epoch, epoch=epoch)
        writer.flush_soon()
        time.sleep(0.02)
    deadline = time.monotonic() + 10
    while len(store.runs.metrics(run.id).get("loss", [])) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(store.runs.metrics(run.id)["loss"]) == 40  # written without close()
    assert timed.writes[0] - started >= 0.3
    assert all(later - earlier >= 0.3 for earlier, later in itertools.pairwise(timed.writes))
    assert len(timed.writes) < 10  # not one a millisecond epoch

    patient = MetricWriter(store.runs, run.id, flush_seconds=60, min_gap_seconds=60)
    patient.add("loss", 41.0, step=41, epoch=41)
    closing = time.monotonic()
    patient.close()
    assert time.monotonic() - closing < 5
    assert len(store.runs.metrics(run.id)["loss"]) == 41
