"""Trials as Ray tasks on a real local Ray cluster (``ray start --head`` on 127.0.0.1, 2 CPUs,
no dashboard), started once for the module, with the searches in Optuna's journal storage:
two trials run side by side on their own workers, the pruner stops a bad one, the best is
recorded as with the other executors, and a trial whose Ray worker is killed runs again from
its checkpoint while the search goes on.

Skipped where Ray is not installed (``pip install athanor[ray]``); CI
(``ATHANOR_REQUIRE_RAY``) fails instead.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import athanor as at
from athanor.errors import SpecError
from athanor.settings import current_settings
from athanor.store import RunStatus, open_store
from athanor.store.checkpoints import CheckpointFolder
from athanor.tuning.ray_trials import SharedStorageRequired, check_shared_storage
from athanor.tuning.search import build_executor
from athanor.tuning.study import load_search_study


@pytest.fixture
def journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The searches' database as a journal file (a shared filesystem's, on a real cluster)."""
    path = tmp_path / "shared" / "searches.log"
    monkeypatch.setenv("ATHANOR_TUNE_DB_URL", f"journal://{path}")
    return path


def _overlap(a: Any, b: Any) -> float:
    """Seconds two runs trained at the same time."""
    return (min(a.finished_at, b.finished_at) - max(a.started_at, b.started_at)).total_seconds()


def test_two_trials_run_side_by_side_and_the_pruner_stops_a_bad_one(
    ray_cluster: str, journal: Path, iris_search: dict[str, Any]
) -> None:
    # one learning rate too small to learn anything: successive halving stops it early
    iris_search["model"]["hidden"] = [16]
    iris_search["train"]["epochs"] = 8
    iris_search["train"]["optimizer"]["lr"] = {"choice": [0.05, 0.03, 1.0e-6]}
    iris_search["tune"].update(
        {
            "trials": 3,
            "sampler": "grid",
            "pruner": {"type": "median", "startup_trials": 1, "warmup_epochs": 2},
        }
    )
    result = at.tune(
        iris_search, executor="ray", ray_address=ray_cluster, parallel=2, progress=False
    )
    assert journal.stat().st_size > 0  # the search lives in the journal
    assert result.record.status == "finished" and result.record.done == 3
    runs = {run.id: run for run in open_store().runs.list()}
    rows = {row["trial"]: row for row in result.report["leaderboard"]}
    assert sorted(runs) == sorted(row["run_id"] for row in rows.values())
    # each trial ran in a Ray worker, never here; two of them at the same time, on two workers
    assert os.getpid() not in {run.pid for run in runs.values()}
    pairs = [(a, b) for a in runs.values() for b in runs.values() if a.id < b.id]
    assert any(_overlap(a, b) > 0 and a.pid != b.pid for a, b in pairs), [
        (run.pid, run.started_at, run.finished_at) for run in runs.values()
    ]
    seen = [(r["trial"], r["state"], r["epochs"], r["value"], r["params"]) for r in rows.values()]
    # The grid's third point is the bad one: it starts when a first trial has ended, and
    # that one completed (nothing is pruned before a trial completes), so the median of
    # completed trials stops it once its warm-up epochs are over.
    bad = rows[2]
    assert bad["params"]["train.optimizer.lr"] == 1.0e-6, seen
    assert bad["state"] == "pruned" and bad["epochs"] < 8, seen
    assert runs[bad["run_id"]].status == RunStatus.CANCELLED
    # a good trial may be pruned too (below the median of completed ones): the pruner's call
    complete = [row for row in rows.values() if row["state"] == "complete"]
    assert complete and all(row["epochs"] == 8 for row in complete), seen
    # the best trial is recorded as with the other executors: its run's own metric
    best = max(complete, key=lambda row: (row["value"], -row["trial"]))
    assert result.best["trial"] == best["trial"] and result.best["run_id"] == best["run_id"]
    assert result.best["value"] == runs[best["run_id"]].summary["metrics"]["val_accuracy"]
    stored = load_search_study(result.id, current_settings())
    assert stored.best_trial.number == best["trial"]


def test_a_trial_whose_ray_worker_dies_runs_again_from_its_checkpoint(
    ray_cluster: str, journal: Path, iris_search: dict[str, Any]
) -> None:
    iris_search["model"]["hidden"] = [16]
    iris_search["train"]["epochs"] = 40
    iris_search["train"]["optimizer"]["lr"] = {"choice": [0.01, 0.02]}
    iris_search["tune"].update({"trials": 1, "pruner": "none", "max_retries": 1})
    killed: list[int] = []

    def kill_the_worker_after_a_checkpoint() -> None:
        store = open_store()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            for run in store.runs.list():
                saved = CheckpointFolder.of_run(store.artifacts.run_dir(run.id)).list()
                if run.status == RunStatus.RUNNING and run.pid and len(saved) >= 2:
                    os.kill(run.pid, signal.SIGKILL)
                    killed.append(run.id)
                    return
            time.sleep(0.1)

    killer = threading.Thread(target=kill_the_worker_after_a_checkpoint, daemon=True)
    killer.start()
    result = at.tune(iris_search, executor="ray", ray_address=ray_cluster, progress=False)
    killer.join(timeout=5)
    assert killed, "the trial's run never wrote its second checkpoint"
    assert result.record.status == "finished", result.record.reason
    assert result.record.counts["interrupted"] == 1 and result.record.counts["complete"] == 1
    (row,) = [row for row in result.report["leaderboard"] if row["state"] == "complete"]
    # the retry continued the killed run from its checkpoint, to the last epoch
    assert row["run_id"] == killed[0] and row["epochs"] == 40
    run = open_store().runs.get(killed[0])
    assert run.status == RunStatus.SUCCEEDED


def test_sqlite_is_refused_on_a_cluster_of_several_nodes(tmp_path: Path) -> None:
    settings = current_settings()
    check_shared_storage(settings, nodes=1)  # one node: the files are fine
    with pytest.raises(SharedStorageRequired, match="the cluster has 2 nodes") as refused:
        check_shared_storage(settings, nodes=2)
    message = str(refused.value)
    assert "ATHANOR_TUNE_DB_URL" in message and "ATHANOR_DB_URL" in message
    shared = type(settings)(
        home=settings.home,
        db_url="postgresql+psycopg://db/athanor",
        data_mirrors=(),
        tune_db_url=f"journal://{tmp_path}/searches.log",
    )
    check_shared_storage(shared, nodes=8)
    with pytest.raises(SpecError, match="valid: local, ray"):
        build_executor("dask", parallel=2, settings=settings)
