"""Concurrent writers on the metadata database: SQLite (the embedded default) vs PostgreSQL.

``--writers`` processes (4) write at the same moment through the store's repositories, as a
platform's submitters and workers do:

- submissions: each process submits ``--submissions`` jobs (50), one transaction each (the
  queued run and its job row), as ``POST /v1/jobs`` does;
- metric writes: each process owns a run and writes ``--batches`` batches (50) of
  ``--points`` points (100), one statement and a heartbeat each, as a worker's background
  metric writer does.

The figure is the throughput of all processes together (operations / wall time from the
first start to the last end) on each database, and the ratio PostgreSQL / SQLite. SQLite is a
file in a temporary home (WAL, synchronous=NORMAL, as the store opens it); PostgreSQL is a
throwaway server started here like the tests' (``athanor.store.postgres_server``), with
PostgreSQL's durable defaults (fsync and synchronous commits on) unless ``--fast``.

    python benchmarks/store_concurrency.py [--writers 4] [--submissions 50] [--batches 50]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from athanor.settings import Settings
from athanor.store import MetricPoint, open_store
from athanor.store.postgres_server import FAST_SETTINGS, TemporaryPostgres

SPEC = {"name": "bench", "data": {"dataset": "digits"}, "job": {"priority": 0}}


def _submit(settings: Settings, count: int, start: Any) -> tuple[float, float]:
    store = open_store(settings)
    start.wait()
    began = time.time()
    for _ in range(count):
        store.jobs.submit(SPEC, name="bench", dataset="digits", submitted_by="bench")
    return began, time.time()


def _write_metrics(
    settings: Settings, run_id: int, batches: int, points: int, start: Any
) -> tuple[float, float]:
    store = open_store(settings)
    start.wait()
    began = time.time()
    for batch in range(batches):
        now = time.time()
        store.runs.log_metrics(
            run_id,
            [MetricPoint("loss", batch * points + i, 1, 0.5, now) for i in range(points)],
        )
        store.runs.heartbeat(run_id)
    return began, time.time()


def _together(writers: int, target: Any, arguments: list[tuple]) -> float:
    """Run ``target(*arguments[i], start)`` in ``writers`` processes released at once; the
    wall time from the first start to the last end."""
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        start = manager.Event()
        with context.Pool(writers) as pool:
            pending = [pool.apply_async(target, (*args, start)) for args in arguments]
            time.sleep(1.0)  # let every process open its store first
            start.set()
            spans = [result.get(timeout=600) for result in pending]
    return max(end for _, end in spans) - min(began for began, _ in spans)


def measure(settings: Settings, options: argparse.Namespace) -> dict[str, float]:
    """Submissions per second and metric points per second with ``options.writers``."""
    store = open_store(settings)
    writers = options.writers
    seconds = _together(writers, _submit, [(settings, options.submissions)] * writers)
    submissions = writers * options.submissions / seconds
    runs = [store.runs.create({}, name=f"metrics-{i}").id for i in range(writers)]
    seconds = _together(
        writers,
        _write_metrics,
        [(settings, run_id, options.batches, options.points) for run_id in runs],
    )
    batches = writers * options.batches / seconds
    assert store.jobs.queue() and len(store.jobs.queue()) == writers * options.submissions
    return {
        "submissions/s": submissions,
        "metric batches/s": batches,
        "metric points/s": batches * options.points,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--submissions", type=int, default=50, help="jobs per writer")
    parser.add_argument("--batches", type=int, default=50, help="metric batches per writer")
    parser.add_argument("--points", type=int, default=100, help="points per batch")
    parser.add_argument(
        "--fast", action="store_true", help="PostgreSQL without fsync (as in the tests)"
    )
    options = parser.parse_args()

    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="athanor-bench-") as folder:
        home = Path(folder) / "sqlite-home"
        sqlite = Settings(home=home, db_url=f"sqlite:///{home / 'athanor.db'}", data_mirrors=())
        results["SQLite"] = measure(sqlite, options)
        with TemporaryPostgres(FAST_SETTINGS if options.fast else None) as server:
            database = server.create_database("bench")
            home = Path(folder) / "postgres-home"
            postgres = Settings(home=home, db_url=server.url(database), data_mirrors=())
            results["PostgreSQL"] = measure(postgres, options)
            version = subprocess.run(
                [str(server.bin / "postgres"), "--version"], capture_output=True, text=True
            ).stdout.strip()

    durability = "fsync off" if options.fast else "durable defaults"
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPU threads, load average {load}; {version}")
    print(
        f"{options.writers} writer processes; {options.submissions} submissions and "
        f"{options.batches} batches of {options.points} metric points each; "
        f"PostgreSQL with {durability}"
    )
    print(f"{'':18} {'SQLite':>12} {'PostgreSQL':>12} {'PG / SQLite':>12}")
    for key in results["SQLite"]:
        lite, pg = results["SQLite"][key], results["PostgreSQL"][key]
        print(f"{key:18} {lite:12.1f} {pg:12.1f} {pg / lite:11.2f}x")


if __name__ == "__main__":
    main()
