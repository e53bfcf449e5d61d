"""How well ``athanor estimate`` predicts an epoch's time and a step's peak memory on this machine.

For every spec in ``examples/`` (searches excepted), in a fresh process each, the spec is cut
to ``--steps`` training batches (``data.subset``; one batch of validation and test) and
trained for a few epochs with ``athanor.train``; the estimate is made for the same cut spec, so
both describe the same work. The full spec's estimated epoch is printed alongside.

* **time**: the real run's epochs as a user waits for them, each from the end of the epoch
  before to its own end (the previous epoch's checkpoint, the steps, validation); the median
  of all but the first (of 4 epochs, or 16 where the estimate is under 50 ms) against the
  estimate's epoch.
* **repeats**: a spec whose estimated epoch is under 50 ms is measured in 3 processes and
  its figures are the medians (one process's heap growth of a few kilobytes varies by more
  than the error to measure).
* **memory**: during the real run's training steps, the C heap's peak above what was in use
  when training started, the garbage collected (glibc's ``mallinfo2``, where PyTorch's CPU
  tensors live), plus the weights (in use before), against the estimate's weights +
  gradients + optimizer state + activations.

Goal (issue 18): every time within +-25% and the median within +-10%; memory within +-20%.

    .venv/bin/python benchmarks/estimate_accuracy.py [--steps 5] [--threads 1] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def measure_one(name: str, steps: int) -> dict:
    """Estimate and measure one example (run in a process of its own)."""
    import athanor as at
    from athanor.spec.examples import resolve_spec_path
    from athanor.training.callbacks.base import Callback
    from athanor.training.host_memory import heap_in_use

    full = at.estimate(name, ["cpu"], steps=3)
    batch = full.batch_size
    subset = {"train": min(steps * batch, full.samples["train"])}
    for split in ("val", "test"):
        if full.samples.get(split):
            subset[split] = min(batch, full.samples[split])
    overrides = [f"data.subset.{split}={count}" for split, count in subset.items()]
    cut = at.estimate(name, ["cpu"], overrides=[*overrides, "train.epochs=4"], steps=3)
    estimated_epoch = cut.device("cpu").epoch_seconds[1]
    # the median of several epochs; of many where an epoch takes milliseconds
    overrides.append(f"train.epochs={16 if estimated_epoch < 0.05 else 4}")

    class Probe(Callback):
        """Epoch ends' clock, and the heap's peak while a training batch runs."""

        def __init__(self) -> None:
            self.epoch_ends: list[float] = []
            self.baseline = self.peak = 0
            self.weights = 0
            self.in_batch = threading.Event()
            self.done = threading.Event()

        def _sample(self, ready: threading.Event) -> None:
            heap_in_use()
            ready.set()
            while not self.done.wait(0.001):
                if self.in_batch.is_set():
                    self.peak = max(self.peak, heap_in_use() or 0)

        def on_fit_start(self, trainer, state) -> None:
            self.weights = sum(
                t.numel() * t.element_size() for t in trainer.module.state_dict().values()
            )
            # the baseline once the sampling thread runs (starting it is not training) and
            # the garbage of preparing is collected (freed during a step, it hides a part)
            gc.collect()
            ready = threading.Event()
            threading.Thread(target=self._sample, args=(ready,), daemon=True).start()
            ready.wait()
            self.baseline = self.peak = heap_in_use() or 0

        def on_batch_start(self, trainer, state) -> None:
            self.in_batch.set()

        def on_batch_end(self, trainer, state, loss) -> None:
            self.peak = max(self.peak, heap_in_use() or 0)
            self.in_batch.clear()

        def on_epoch_end(self, trainer, state, metrics) -> None:
            self.epoch_ends.append(time.perf_counter())

        def on_fit_end(self, trainer, state) -> None:
            self.done.set()

    probe = Probe()
    at.train(resolve_spec_path(name), overrides=overrides, progress=False, callbacks=[probe])
    return {
        "spec": name,
        "batch": batch,
        "steps": subset["train"] // batch,
        "estimated_epoch_s": estimated_epoch,
        "measured_epoch_s": statistics.median(
            later - earlier for earlier, later in itertools.pairwise(probe.epoch_ends)
        ),
        "full_epoch_estimate_s": full.device("cpu").epoch_seconds[1],
        "estimated_memory": cut.memory["total"],
        "measured_memory": probe.weights + probe.peak - probe.baseline,
    }


SHORT_REPEATS = 3
"""Processes for a spec whose epoch takes milliseconds: its figures are the medians."""


def _short(row: dict) -> bool:
    # Epochs of milliseconds and a heap growth of kilobytes: one process's figures vary by
    # more than the estimate's error (which garbage the collector frees during a step, what
    # the allocator reuses); the median of three processes is what is compared.
    return row["estimated_epoch_s"] < 0.05


def _median_row(runs: list[dict]) -> dict:
    row = dict(runs[0])
    for key in (
        "estimated_epoch_s",
        "measured_epoch_s",
        "full_epoch_estimate_s",
        "estimated_memory",
        "measured_memory",
    ):
        row[key] = statistics.median(run[key] for run in runs)
    row["processes"] = len(runs)
    return row


def _label(row: dict) -> str:
    processes = row.get("processes", 1)
    return row["spec"] + (f" (x{processes})" if processes > 1 else "")


def _seconds(value: float) -> str:
    return f"{value:.3f}s" if value >= 0.01 else f"{value * 1000:.2f}ms"


def _bytes(value: float) -> str:
    return f"{value / 2**20:.1f}MB" if value >= 2**20 / 10 else f"{value / 1024:.1f}KB"


def examples() -> list[str]:
    from athanor.spec.examples import list_examples

    return list_examples(searches=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5, help="training batches per epoch")
    parser.add_argument("--only", nargs="*", help="these examples only")
    parser.add_argument(
        "--threads", type=int, help="torch threads (default: torch's; 1 on a busy machine)"
    )
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.one:
        print(json.dumps(measure_one(args.one, args.steps)))
        return

    print(
        f"CPU threads {torch.get_num_threads()}, cores {os.cpu_count()}, load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}; {args.steps} steps per epoch"
    )
    rows = []
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "ATHANOR_HOME": home, "PYTHONPATH": str(REPO / "src")}
        for name in args.only or examples():
            command = [
                sys.executable,
                __file__,
                *("--one", name, "--steps", str(args.steps)),
                *(("--threads", str(args.threads)) if args.threads else ()),
            ]
            runs: list[dict] = []
            while len(runs) < (SHORT_REPEATS if runs and _short(runs[0]) else 1):
                done = subprocess.run(command, capture_output=True, text=True, env=env)
                if done.returncode:
                    print(f"{name}: failed: {done.stderr.strip().splitlines()[-1:]}")
                    break
                runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
            else:
                rows.append(_median_row(runs))
    header = (
        f"{'spec':22} {'steps':>5} {'est. epoch':>10} {'measured':>9} {'error':>7}  "
        f"{'est. memory':>11} {'measured':>9} {'error':>7}  {'full epoch est.':>15}"
    )
    print(header)
    time_errors, memory_errors = [], []
    for row in rows:
        t_err = row["estimated_epoch_s"] / row["measured_epoch_s"] - 1
        m_err = row["estimated_memory"] / max(row["measured_memory"], 1) - 1
        time_errors.append(t_err)
        memory_errors.append(m_err)
        print(
            f"{_label(row):22} {row['steps']:>5} {_seconds(row['estimated_epoch_s']):>10} "
            f"{_seconds(row['measured_epoch_s']):>9} {t_err:>+7.0%}  "
            f"{_bytes(row['estimated_memory']):>11} {_bytes(row['measured_memory']):>9} "
            f"{m_err:>+7.0%}  {row['full_epoch_estimate_s']:>14.1f}s"
        )
    if rows:
        within = sum(abs(e) <= 0.25 for e in time_errors)
        print(
            f"time: median error {statistics.median(time_errors):+.0%}, "
            f"{within}/{len(rows)} within +-25% (goal: all, median within +-10%)"
        )
        within = sum(abs(e) <= 0.20 for e in memory_errors)
        print(
            f"memory: median error {statistics.median(memory_errors):+.0%}, "
            f"{within}/{len(rows)} within +-20%"
        )


if __name__ == "__main__":
    main()
