"""Trials in worker processes: side by side, reporting to the same search."""

from __future__ import annotations

import os

import pytest

import athanor as at
from athanor.store import open_store
from athanor.tuning.executors import InProcessExecutor, PlatformCalls, ProcessExecutor


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


def test_the_platform_client_has_the_calls_the_job_queue_executor_makes() -> None:
    import inspect

    from athanor.server.client import PlatformClient

    def shape(function) -> list[tuple[str, object]]:
        return [(p.name, p.kind) for p in inspect.signature(function).parameters.values()]

    assert shape(PlatformClient.call) == shape(PlatformCalls.call)


def test_trials_run_as_platform_jobs_which_report_and_are_pruned_there(
    platform_factory, iris_search
) -> None:

    platform = platform_factory("--cpus", "2", "--gpus", "none")
    platform.start()
    client = platform.client()
    assert isinstance(client, PlatformCalls)
    iris_search["tune"].update({"trials": 6, "pruner": {"type": "asha", "reduction_factor": 2}})
    result = at.tune(
        iris_search,
        parallel=2,
        progress=False,
        settings=platform.settings,
        platform=client,
    )
    assert result.record.status == "finished" and result.record.done == 6
    rows = result.report["leaderboard"]
    jobs = {job.id: job for job in platform.store().jobs.list()}
    assert {row["run_id"] for row in rows} <= set(jobs)  # every trial was a job
    # the other jobs are first attempts held at ASHA's first rung (until two trials reach
    # it), each run on as a job of its own when it ranked in the top half there
    held = [job for job_id, job in jobs.items() if job_id not in {row["run_id"] for row in rows}]
    held += [jobs[row["run_id"]] for row in rows if row["reason"].endswith("trials there")]
    assert held, "the first trial to reach epoch 1 has nobody to rank against: it is held"
    for job in held:
        assert job.run.summary["trial"]["held"].startswith("held at epoch 1")
        assert job.run.status == "cancelled"
    # each trial ran in a worker process the platform started, never in this one
    workers = [attempt["pid"] for job in jobs.values() for attempt in job.attempts]
    assert len(workers) >= len(jobs) and None not in workers and os.getpid() not in workers
    pruned = [row for row in rows if row["state"] == "pruned"]
    # both branches below are checked: some trials pruned in the workers, some completed
    assert 0 < len(pruned) < len(rows), "successive halving with r=2 prunes some of six trials"
    for row in rows:
        run = jobs[row["run_id"]].run
        seen = run.summary["trial"]
        assert (seen["number"], seen["epochs"]) == (row["trial"], row["epochs"])
        assert not any(name.startswith("test_") for name in run.summary.get("metrics", {}))
        if row["state"] == "pruned":
            # pruned in the worker, or held there and pruned once the first rung had two
            assert (seen["pruned"] or seen["held"]).startswith(("pruned by asha", "held at"))
            assert row["reason"].startswith("pruned by asha") and row["epochs"] < 6
            assert run.status == "cancelled"
        else:
            assert run.status == "succeeded" and row["epochs"] == 6
            assert row["value"] == run.summary["metrics"]["val_accuracy"]


def test_the_platform_refuses_a_malformed_trial(platform_factory, iris_search) -> None:
    from athanor.errors import UserError

    platform = platform_factory("--cpus", "1", "--gpus", "none", "--warm-workers", "0")
    platform.start()
    client = platform.client()
    spec = {**iris_search, "model": {"template": "mlp"}, "tune": None}
    del spec["tune"]
    spec["train"] = {**spec["train"], "optimizer": {"type": "adam"}}
    with pytest.raises(UserError, match=r"trial\.metric: String should match"):
        client.call("submit_job", body={"spec": spec, "trial": {"metric": "loss"}})
    assert platform.store().jobs.list() == []
