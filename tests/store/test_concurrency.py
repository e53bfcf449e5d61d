"""Writers at the same moment, on SQLite and on PostgreSQL: parallel submissions (processes),
parallel metric writes and compare-and-set claims (threads), and dataset versions numbered
without gaps. Model registrations in parallel are in tests/registry/test_registry.py."""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from typing import Any

import pytest

from athanor.store import Lease, MetricPoint, RunStatus, StatusChange, open_store

pytestmark = pytest.mark.usefixtures("backend")

SUBMITTERS, SUBMISSIONS = 4, 8
QUEUED = frozenset({RunStatus.QUEUED})


def _submit_jobs(count: int, start: Any) -> list[int]:
    """In a process of its own: open the store named by the environment and submit."""
    start.wait()
    store = open_store()
    spec = {"name": "p", "data": {"dataset": "digits"}, "job": {"priority": 0}}
    return [
        store.jobs.submit(spec, name="p", dataset="digits", submitted_by=str(os.getpid())).id
        for _ in range(count)
    ]


def in_threads(count: int, target: Callable[[int], Any]) -> list[Any]:
    """Run ``target(index)`` in ``count`` threads released at once; re-raise a failure."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = target(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    return results


def test_parallel_submissions_from_processes_get_distinct_ids() -> None:
    store = open_store()  # creates (SQLite) or reaches (PostgreSQL) the database first
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        start = manager.Event()
        with context.Pool(SUBMITTERS) as pool:
            pending = [
                pool.apply_async(_submit_jobs, (SUBMISSIONS, start)) for _ in range(SUBMITTERS)
            ]
            start.set()
            ids = [job_id for result in pending for job_id in result.get(timeout=120)]
    assert len(ids) == len(set(ids)) == SUBMITTERS * SUBMISSIONS
    queued = store.jobs.queue()
    assert sorted(job.id for job in queued) == sorted(ids)
    assert len({job.submitted_by for job in queued}) == SUBMITTERS


def test_parallel_metric_writes_all_arrive() -> None:
    store = open_store()
    runs = [store.runs.create({}, name=f"m{i}") for i in range(4)]
    batches, per_batch = 20, 25

    def write(index: int) -> None:
        run_id = runs[index % len(runs)].id
        for batch in range(batches):
            store.runs.log_metrics(
                run_id,
                [
                    MetricPoint(f"w{index}", step, 1, float(step), 0.0)
                    for step in range(batch * per_batch, (batch + 1) * per_batch)
                ],
            )
            store.runs.heartbeat(run_id)

    in_threads(8, write)
    for index in range(8):
        series = store.runs.metrics(runs[index % len(runs)].id)[f"w{index}"]
        assert [point.step for point in series] == list(range(batches * per_batch))


def test_only_one_of_many_claims_of_a_job_wins() -> None:
    store = open_store()
    spec = {"name": "c", "data": {"dataset": "digits"}, "job": {"priority": 0}}
    jobs = [store.jobs.submit(spec, name="c", dataset="digits") for _ in range(5)]
    for job in jobs:
        change = StatusChange(RunStatus.RUNNING, "claimed", QUEUED)

        def claim(index: int, job_id: int = job.id, change: StatusChange = change) -> bool:
            owner = Lease(10_000 + index, f"host{index}")
            return store.jobs.claim(job_id, change, owner) is not None

        assert sum(in_threads(6, claim)) == 1
        assert store.jobs.get(job.id).status == RunStatus.RUNNING


def test_concurrent_summary_merges_lose_no_key() -> None:
    store = open_store()
    run = store.runs.create({}, name="s")

    def merge(index: int) -> None:
        for step in range(5):
            store.runs.update(run.id, summary={f"k{index}_{step}": step})

    in_threads(6, merge)
    summary = store.runs.get(run.id).summary
    assert set(summary) == {f"k{i}_{s}" for i in range(6) for s in range(5)}


def test_parallel_dataset_imports_are_numbered_without_gaps() -> None:
    datasets = open_store().datasets

    def record(index: int) -> int:
        version, new = datasets.add_version(
            "shared",
            content_hash=f"{index:064x}",
            kind="table",
            task="classification",
            path=f"datasets/{index}",
            source="",
            rows=1,
            size_bytes=3 * 2**31,  # above 32-bit INTEGER: PostgreSQL needs BIGINT here
            info={"score": float("nan")},
        )
        assert new
        return version.number

    numbers = in_threads(6, record)
    assert sorted(numbers) == list(range(1, 7))
    stored = datasets.versions("shared")
    assert {v.size_bytes for v in stored} == {3 * 2**31}
