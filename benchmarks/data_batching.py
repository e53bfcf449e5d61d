"""Batches per second on MNIST: Athanor's in-memory batching vs DataLoader(TensorDataset).

Both sides iterate the same prepared MNIST training tensors (60,000 x 1 x 28 x 28 floats),
shuffled, with the same batch size, and touch every batch (its sum is accumulated, so no
side can skip work). Athanor holds the tensors on the device and slices them with a seeded
permutation; the baseline is the plain ``DataLoader(TensorDataset(x, y), shuffle=True)``
that tutorials use, moving each batch to the device.

    .venv/bin/python benchmarks/data_batching.py            # full setting
    .venv/bin/python benchmarks/data_batching.py --epochs 1 --limit 5000   # quick check
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from torch.utils.data import DataLoader, TensorDataset

from athanor.data.prepare import prepare
from athanor.spec.data import DataSpec


def _consume(batches, device: torch.device) -> tuple[int, float]:
    total = torch.zeros((), device=device)
    count = 0
    started = time.perf_counter()
    for x, y in batches:
        total += x.sum() + y.sum()
        count += 1
    if device.type == "cuda":
        torch.cuda.synchronize()
    return count, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs timed per side")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--limit", type=int, default=None, help="use only this many samples")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    subset = {"train": args.limit} if args.limit else None
    prepared = prepare(DataSpec(dataset="mnist", split={"val": 0.1}, subset=subset), seed=0)
    train = prepared.train
    print(
        f"machine: {os.cpu_count()} CPU threads, torch {torch.__version__}, device {device}"
        + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "")
    )
    print(f"data: MNIST train split {tuple(train.x.shape)}, batch size {args.batch_size}")

    source = prepared.batches("train", args.batch_size, shuffle=True, seed=0, device=device)
    _consume(source.epoch(0), device)  # warm-up (and the one copy to the device)
    ours_batches, ours_seconds = 0, 0.0
    for epoch in range(args.epochs):
        count, seconds = _consume(source.epoch(epoch + 1), device)
        ours_batches += count
        ours_seconds += seconds

    loader = DataLoader(TensorDataset(train.x, train.y), batch_size=args.batch_size, shuffle=True)
    generator = torch.Generator().manual_seed(0)
    loader.generator = generator

    def moved():
        for x, y in loader:
            yield x.to(device), y.to(device)

    _consume(moved(), device)
    base_batches, base_seconds = 0, 0.0
    for _epoch in range(args.epochs):
        count, seconds = _consume(moved(), device)
        base_batches += count
        base_seconds += seconds

    ours = ours_batches / ours_seconds
    base = base_batches / base_seconds
    print(f"athanor TensorBatches (in memory): {ours:10.1f} batches/s")
    print(f"DataLoader(TensorDataset):         {base:10.1f} batches/s")
    print(f"ratio: {ours / base:.1f}x (goal >= 5x)")


if __name__ == "__main__":
    main()
