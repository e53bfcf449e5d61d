"""How well ``athanor estimate`` predicts an epoch's time and a step's peak memory on this machine.

For every spec in ``examples/`` (searches excepted), in a fresh process each:

* **time**: the spec is cut to ``--steps`` training batches (``data.subset``; one batch of
  validation and test) and trained for two epochs with ``athanor.train``; the second epoch's
  ``epoch_seconds`` (the trainer's own clock: training and validation) is the measurement. The
  estimate is made for the same cut spec, so both describe the same work. The full spec's
  estimated epoch is printed alongside.
* **memory**: the bytes in use on the C heap (glibc's ``mallinfo2``, where PyTorch's CPU
  tensors live; sampled every millisecond by a thread) while the network is built and
  ``--steps`` training steps run, less the bytes in use just before (the data is loaded
  already); against the estimate's weights + gradients + optimizer state + activations. The
  resident set size is no use here: the allocator reuses what data loading freed.

Goal (issue 18): every time within +-25% and the median within +-10%; memory within +-20%.

    .venv/bin/python benchmarks/estimate_accuracy.py [--steps 5] [--only mnist-cnn ...]
"""

from __future__ import annotations

import argparse
import ctypes
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


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def heap_in_use() -> int:
    """Bytes allocated with malloc and not freed (glibc >= 2.33): ordinary plus mmapped."""
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = _MallInfo2
    info = libc.mallinfo2()
    return int(info.uordblks + info.hblkhd)


def measure_one(name: str, steps: int) -> dict:
    """Estimate and measure one example (run in a process of its own)."""
    import torch

    import athanor as at
    from athanor.api.networks import _prepare_offline
    from athanor.nets.builder import build_network
    from athanor.spec.examples import resolve_spec_path
    from athanor.spec.loading import load_spec
    from athanor.training.calibration import synthetic_batch, time_training_steps
    from athanor.training.losses import uses_single_logit

    full = at.estimate(name, ["cpu"], steps=3)
    batch = full.batch_size
    subset = {"train": min(steps * batch, full.samples["train"])}
    for split in ("val", "test"):
        if full.samples.get(split):
            subset[split] = min(batch, full.samples[split])
    overrides = [f"data.subset.{split}={count}" for split, count in subset.items()]
    overrides.append("train.epochs=2")
    cut = at.estimate(name, ["cpu"], overrides=overrides, steps=3)
    estimated_epoch = cut.device("cpu").epoch_seconds[1]

    run = at.train(resolve_spec_path(name), overrides=overrides, progress=False)
    points = at.runs.show(run.id)["metrics"]["epoch_seconds"]
    measured_epoch = points[-1]["value"]

    spec = load_spec(resolve_spec_path(name), overrides)
    prepared = _prepare_offline(spec, None)
    if uses_single_logit(spec.train.loss, prepared.schema):  # as a run builds it
        prepared.schema = prepared.schema.model_copy(update={"single_logit": True})
    x, y = next(iter(prepared.batches("train", batch).epoch(0, 0)))
    before = heap_in_use()
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], heap_in_use())
            time.sleep(0.001)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    network = build_network(spec.model, prepared.schema, seed=spec.seed)
    time_training_steps(
        network, spec.train, prepared.schema, synthetic_batch(x, y), torch.device("cpu"), steps
    )
    done.set()
    sampler.join()
    return {
        "spec": name,
        "batch": batch,
        "steps": subset["train"] // batch,
        "estimated_epoch_s": estimated_epoch,
        "measured_epoch_s": measured_epoch,
        "full_epoch_estimate_s": full.device("cpu").epoch_seconds[1],
        "estimated_memory": cut.memory["total"],
        "measured_memory": peak[0] - before,
    }


def examples() -> list[str]:
    from athanor.spec.examples import list_examples

    return list_examples(searches=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5, help="training batches per epoch")
    parser.add_argument("--only", nargs="*", help="these examples only")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(args.one, args.steps)))
        return

    import torch

    print(
        f"CPU threads {torch.get_num_threads()}, cores {os.cpu_count()}, load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}; {args.steps} steps per epoch"
    )
    rows = []
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "ATHANOR_HOME": home, "PYTHONPATH": str(REPO / "src")}
        for name in args.only or examples():
            done = subprocess.run(
                [sys.executable, __file__, "--one", name, "--steps", str(args.steps)],
                capture_output=True,
                text=True,
                env=env,
            )
            if done.returncode:
                print(f"{name}: failed: {done.stderr.strip().splitlines()[-1:]}")
                continue
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
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
            f"{row['spec']:22} {row['steps']:>5} {row['estimated_epoch_s']:>9.3f}s "
            f"{row['measured_epoch_s']:>8.3f}s {t_err:>+7.0%}  "
            f"{row['estimated_memory'] / 2**20:>9.1f}MB {row['measured_memory'] / 2**20:>7.1f}MB "
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
