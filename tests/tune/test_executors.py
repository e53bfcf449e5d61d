"""Trials in worker processes: side by side, reporting to the same search."""

from __future__ import annotations

import os

import athanor as at
from athanor.store import open_store
from athanor.tune.executors import InProcessExecutor, ProcessExecutor


def test_worker_processes_run_trials_side_by_side(iris_search) -> None:
    iris_search["tune"]["trials"] = 4
    result = at.tune(iris_search, parallel=2, pruner="none", progress=False)
    assert result.record.status == "finished" and result.record.counts["complete"] == 4
    runs = open_store().runs.list()
    pids = {run.pid for run in runs}
    assert len(runs) == 4 and os.getpid() not in pids and len(pids) == 2
    # each trial's epochs reached the search's database from its worker
    assert all(row["epochs"] == 6 for row in result.report["leaderboard"])


def test_executors_say_how_many_trials_they_run_at_once() -> None:
    assert InProcessExecutor().slots == 1 and InProcessExecutor().wait(0.1) == []
    pool = ProcessExecutor(3, threads=1)
    try:
        assert pool.slots == 3 and pool.wait(0.1) == []
    finally:
        pool.close()
