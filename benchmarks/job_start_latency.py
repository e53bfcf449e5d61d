"""Job start latency: from submitting a job to its first training step, on a warm platform.

A platform (``athanor up``) is started on a temporary home and warmed up with one job. Then
jobs are submitted one at a time, each after the previous has ended and the platform has been
idle for ``--gap`` seconds (its warm worker has had time to load), and for each the time
from just before ``POST /v1/jobs`` to the first optimizer step its worker reports
(``progress.first_step_at``) is measured, split into submit -> worker started (scheduling) and
worker started -> first step (data, network, first batch).

Baseline, in the same script: the same spec trained by a freshly started Python process
(``athanor.train`` in ``python -c``), timed from starting the process to its first step, i.e.
what starting the run by hand costs. Printed: medians and 90th percentiles, and the ratio of
the platform's median to the baseline's. The platform is measured with its warm worker (the
default) and without (``--warm-workers 0``); with ``--executor ray`` (or ``all``), also with
the Ray executor (``athanor up --executor ray``) on a local Ray cluster that the platform
starts: each job's worker is started by a Ray actor, in a fresh process (no warm worker).

    .venv/bin/python benchmarks/job_start_latency.py [--jobs 8] [--executor local|ray|all]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from athanor.server.client import PlatformClient

SPEC = {
    "name": "latency",
    "seed": 1,
    "data": {"dataset": "digits", "split": {"val": 0.1, "test": 0.2}},
    "model": {"template": "mlp", "hidden": [64]},
    "train": {"epochs": 2, "batch_size": 32},
}

BASELINE = """
import json, sys, time
import athanor
from athanor.training.callbacks import Callback

class FirstStep(Callback):
    seen = False

    def on_after_optimizer_step(self, trainer, state):
        if not self.seen:
            self.seen = True
            print(json.dumps({"first_step": time.time()}), flush=True)

athanor.train(json.loads(sys.argv[1]), progress=False, callbacks=[FirstStep()])
"""


def environment(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "ATHANOR_HOME": str(home),
        "ATHANOR_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
    }


def stamp(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def start_platform(
    home: Path, warm_workers: int, executor: str = "local"
) -> tuple[subprocess.Popen[bytes], str]:
    from athanor.server.platform_file import read_platform_file
    from athanor.settings import Settings

    home.mkdir(parents=True)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "athanor.cli",
            "up",
            "--port",
            "0",
            "--cpus",
            "1",
            "--gpus",
            "none",
            "--warm-workers",
            str(warm_workers),
            "--executor",
            executor,
        ],
        # a local Ray cluster of the platform's own: no token written to ~/.ray
        env={**environment(home), "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    settings = Settings(home=home, db_url=f"sqlite:///{home / 'athanor.db'}", data_mirrors=())
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        info = read_platform_file(settings)
        if info is not None and info.pid == process.pid:
            return process, info.url
        time.sleep(0.05)
    process.kill()
    raise SystemExit("the platform did not start")


def owner_token(home: Path) -> str:
    """The token the platform wrote for its owner (the CLI's credential)."""
    from athanor.server.credentials import read_owner_token
    from athanor.settings import Settings

    token = read_owner_token(
        Settings(home=home, db_url=f"sqlite:///{home / 'athanor.db'}", data_mirrors=())
    )
    assert token is not None, "the platform wrote no owner token"
    return token


def wait_job(client: PlatformClient, job_id: int) -> dict:
    while True:
        job = client.call("get_job", job_id=job_id)
        if job["status"] in ("succeeded", "failed", "cancelled"):
            if job["status"] != "succeeded":
                raise SystemExit(f"job {job_id} {job['status']}: {job['reason']}")
            return job
        time.sleep(0.05)


def measure_platform(
    jobs: int, warm_workers: int, root: Path, gap: float, executor: str = "local"
) -> list[tuple[float, float]]:
    """(submit -> worker started, submit -> first step) in seconds, per job."""
    home = root / f"platform-{executor}-warm{warm_workers}"
    process, url = start_platform(home, warm_workers, executor)
    try:
        client = PlatformClient(url, token=owner_token(home))
        wait_job(client, client.call("submit_job", body={"spec": SPEC})["id"])  # warm-up
        results = []
        for _ in range(jobs):
            time.sleep(gap)  # an idle platform: its warm worker has finished importing
            submitted = time.time()
            job = client.call("submit_job", body={"spec": SPEC})
            done = wait_job(client, job["id"])
            started = stamp(done["attempts"][0]["started_at"])
            first = stamp(done["progress"]["first_step_at"])
            results.append((started - submitted, first - submitted))
        return results
    finally:
        process.terminate()
        process.wait(timeout=60)


def measure_baseline(runs: int, root: Path) -> list[float]:
    home = root / "baseline"
    home.mkdir()
    env = environment(home)
    subprocess.run(  # the store and any caches exist, as they would on a used machine
        [sys.executable, "-c", BASELINE, json.dumps(SPEC)],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    results = []
    for _ in range(runs):
        started = time.time()
        output = subprocess.run(
            [sys.executable, "-c", BASELINE, json.dumps(SPEC)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        ).stdout
        first = json.loads(output.strip().splitlines()[-1])["first_step"]
        results.append(first - started)
    return results


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return f"median {statistics.median(values):6.2f} s   p90 {p90:6.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=8, help="jobs measured per setting")
    parser.add_argument(
        "--gap", type=float, default=8.0, help="idle seconds before each submission"
    )
    parser.add_argument(
        "--executor",
        choices=("local", "ray", "all"),
        default="local",
        help="the platform's executors to measure (ray needs 'athanor[ray]')",
    )
    args = parser.parse_args()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU threads; "
        f"{args.jobs} jobs per setting; spec: digits MLP, 2 epochs, 1 CPU slot"
    )
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        baseline = measure_baseline(args.jobs, root)
        measured = []
        if args.executor in ("local", "all"):
            measured += [
                ("warm worker (default)", measure_platform(args.jobs, 1, root, args.gap)),
                ("no warm worker", measure_platform(args.jobs, 0, root, args.gap)),
            ]
        if args.executor in ("ray", "all"):
            ray = measure_platform(args.jobs, 0, root, args.gap, executor="ray")
            measured.append(("Ray executor", ray))
    base = statistics.median(baseline)
    print(f"baseline: new Python process to first step     {summary(baseline)}")
    for label, results in measured:
        total = [first for _, first in results]
        print(
            f"platform, {label:22}: submit to first step {summary(total)}   "
            f"(to worker started: median {statistics.median(s for s, _ in results):.2f} s)   "
            f"ratio to baseline {statistics.median(total) / base:.2f}"
        )


if __name__ == "__main__":
    main()
