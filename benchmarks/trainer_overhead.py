"""Overhead of Athanor's trainer over a hand-written PyTorch loop, on MNIST.

The same network (same initial weights), data, seed and batch order is trained by
``athanor.train.Trainer`` (progress bar, store logging to a real SQLite file, LR monitor,
epoch checkpoints, accuracy and the NaN guard all on) and by a plain loop, alternating runs in
this one process. Printed per model: seconds per epoch of each, their ratio (goal <= 1.03),
the largest difference of per-epoch training loss (goal: equal to 5 decimals), and the peak
resident memory each run added (goal: no higher).

    .venv/bin/python benchmarks/trainer_overhead.py [--epochs 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import threading
import time
from pathlib import Path

import torch
from rich.console import Console
from torch.nn import functional

from athanor.data.batching import epoch_order
from athanor.data.prepare import Prepared, prepare
from athanor.nets import build_network
from athanor.settings import Settings
from athanor.spec import load_spec
from athanor.spec.data import DataSpec
from athanor.store import open_store
from athanor.training import Trainer
from athanor.training.callbacks import LRMonitor, ProgressBar, StoreLogger

MODELS = {
    "mlp": {"template": "mlp", "hidden": [256, 128]},
    "lenet5": {"template": "lenet5"},
}


class PeakMemory:
    """Samples this process's resident set size every 5 ms; reports the peak above the start."""

    def __init__(self) -> None:
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.peak = 0
        self._stop = threading.Event()

    def _rss(self) -> int:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * self.page

    def __enter__(self) -> PeakMemory:
        self.start = self._rss()
        self.peak = self.start
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._rss())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def added_mb(self) -> float:
        return (self.peak - self.start) / 2**20


def plain_loop(network, prepared: Prepared, spec, seed: int) -> tuple[list[float], list[float]]:
    """What a user would write: shuffle, slice, forward, loss, backward, step."""
    x, y = prepared.train.x, prepared.train.y
    size, batch = len(y), spec.batch_size
    optimizer = torch.optim.Adam(network.parameters(), lr=spec.optimizer.lr)
    torch.manual_seed(seed)
    network.train()
    seconds, losses = [], []
    for epoch in range(spec.epochs):
        started = time.perf_counter()
        order = epoch_order(size, seed, epoch)
        total = 0.0
        for begin in range(0, size, batch):
            index = order[begin : begin + batch]
            inputs, targets = x.index_select(0, index), y.index_select(0, index)
            loss = functional.cross_entropy(network(inputs), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(index)
        seconds.append(time.perf_counter() - started)
        losses.append(total / size)
    return seconds, losses


def athanor_loop(
    network, prepared: Prepared, spec, seed: int, home: Path
) -> tuple[list[float], list[float]]:
    settings = Settings(home=home, db_url=f"sqlite:///{home / 'athanor.db'}", data_mirrors=())
    store = open_store(settings)
    run = store.runs.create({}, name="overhead")
    console = Console(file=open(os.devnull, "w"), force_terminal=True, width=120)  # noqa: SIM115
    callbacks = [ProgressBar(console), LRMonitor(), StoreLogger(store.runs, run.id)]
    trainer = Trainer(
        spec, seed=seed, callbacks=callbacks, checkpoint_dir=home / f"checkpoints-{run.id}"
    )
    result = trainer.fit(network, prepared)
    console.file.close()
    return [e["epoch_seconds"] for e in result.history], [e["train_loss"] for e in result.history]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="Alternating pairs per model.")
    parser.add_argument("--train", type=int, default=None, help="Use a subset (quick check).")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    args = parser.parse_args()

    seed = 7
    subset = {"train": args.train} if args.train else None
    data = prepare(DataSpec(dataset="mnist", split={"val": 5000}, subset=subset), seed)
    prepared = Prepared(data.train, None, None, data.schema, data.preprocessor, data.record)
    print(
        f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads, "
        f"torch {torch.__version__}; MNIST train {len(prepared.train):,} images, "
        f"batch 128, {args.epochs} epochs x {args.repeats} alternating pairs per model"
    )
    print(
        f"{'model':8} {'plain s/epoch':>14} {'athanor s/epoch':>16} {'ratio':>7} "
        f"{'max |loss diff|':>16} {'peak MB plain':>14} {'peak MB athanor':>16}"
    )
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.models:
            spec = load_spec(
                {
                    "data": "mnist",
                    "model": MODELS[name],
                    "train": {
                        "epochs": args.epochs,
                        "batch_size": 128,
                        "optimizer": {"lr": 1e-3},
                        "device": "cpu",
                    },
                }
            )
            times = {"plain": [], "athanor": []}
            memory = {"plain": [], "athanor": []}
            differences = []
            for repeat in range(args.repeats + 1):  # the first pair warms up and is not counted
                runs = {}
                for kind in ("plain", "athanor") if repeat % 2 == 0 else ("athanor", "plain"):
                    network = build_network(spec.model, prepared.schema, seed=seed)
                    with PeakMemory() as peak:
                        if kind == "plain":
                            runs[kind] = plain_loop(network, prepared, spec.train, seed)
                        else:
                            home = Path(scratch) / f"{name}-{repeat}"
                            runs[kind] = athanor_loop(network, prepared, spec.train, seed, home)
                    if repeat:
                        times[kind] += runs[kind][0]
                        memory[kind].append(peak.added_mb)
                differences.append(
                    max(
                        abs(a - b)
                        for a, b in zip(runs["plain"][1], runs["athanor"][1], strict=True)
                    )
                )
            plain, ours = statistics.median(times["plain"]), statistics.median(times["athanor"])
            print(
                f"{name:8} {plain:14.3f} {ours:16.3f} {ours / plain:7.3f} "
                f"{max(differences):16.2e} {max(memory['plain']):14.1f} "
                f"{max(memory['athanor']):16.1f}"
            )


if __name__ == "__main__":
    main()
