"""Images per second streaming a folder of JPEG files: Athanor's loader vs DataLoader + PIL.

The script writes (once, into ``--folder``) N JPEG images of 224x224 made from MNIST digits
(upscaled, RGB, quality 90, one folder per class), then streams them for a few epochs:

- Athanor, as a training run uses it: the folder is imported as a dataset version (once;
  its time is printed on its own line), then ``prepare`` with ``data.image.size`` and
  ``batching.mode: stream`` gives the training batches, read by DataLoader worker
  processes in a seeded order per epoch.
- the baseline: ``torch.utils.data.DataLoader`` over a Dataset that opens each file with
  PIL, converts it to RGB, resizes it to the same size and makes a float tensor in [0, 1],
  shuffled, with the same batch size and the same number of workers.

Both sides touch every batch (its sum is accumulated), each in a process of its own. Peak
memory is the resident memory of that process plus its workers (psutil): RSS every 100 ms (a
page a forked worker shares with its parent counts once per process) and PSS every second
(each shared page split among the processes that map it, so the sum counts it once).

    .venv/bin/python benchmarks/image_streaming.py                  # 50,000 images
    .venv/bin/python benchmarks/image_streaming.py --images 5000    # quick check
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import torch

MARKER = "images.done"


def mnist_digits(count: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``count`` MNIST training digits and labels from the data mirror."""
    from athanor.data.idx import read_idx_file

    mirror = Path(os.environ.get("ATHANOR_DATA_MIRROR", "data")) / "mnist"
    images = read_idx_file(mirror / "train-images-idx3-ubyte.gz")
    labels = read_idx_file(mirror / "train-labels-idx1-ubyte.gz")
    repeats = -(-count // len(images))
    return np.tile(images, (repeats, 1, 1))[:count], np.tile(labels, repeats)[:count]


def write_images(folder: Path, count: int, side: int = 224) -> Path:
    """``folder/images/<digit>/<n>.jpg`` (written once; reused while the count matches)."""
    from PIL import Image

    root = folder / "images"
    marker = folder / MARKER
    if marker.is_file() and marker.read_text() == f"{count} {side}":
        return root
    images, labels = mnist_digits(count)
    started = time.perf_counter()
    for digit in range(10):
        (root / str(digit)).mkdir(parents=True, exist_ok=True)
    for number, (image, label) in enumerate(zip(images, labels, strict=True)):
        picture = Image.fromarray(image).resize((side, side), Image.Resampling.BILINEAR)
        picture.convert("RGB").save(root / str(int(label)) / f"{number:06d}.jpg", quality=90)
    marker.write_text(f"{count} {side}")
    print(f"wrote {count} JPEG files in {time.perf_counter() - started:.1f} s")
    return root


class PeakMemory:
    """Largest resident memory of this process plus its children while active."""

    def __init__(self) -> None:
        self.rss = 0
        self.pss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        me = psutil.Process()
        tick = 0
        while not self._stop.is_set():
            # PSS reads /proc/<pid>/smaps_rollup, which holds the process's memory map lock
            # and slows its page faults: once a second, RSS (cheap) ten times a second.
            full = tick % 10 == 0
            rss = pss = 0
            for process in [me, *me.children(recursive=True)]:
                try:
                    info = process.memory_full_info() if full else process.memory_info()
                except psutil.Error:
                    continue
                rss += info.rss
                pss += getattr(info, "pss", 0)
            self.rss = max(self.rss, rss)
            self.pss = max(self.pss, pss) if full else self.pss
            tick += 1
            self._stop.wait(0.1)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


class PillowFiles(torch.utils.data.Dataset):
    """The baseline: each file opened with PIL, made RGB, resized, as a float tensor."""

    def __init__(self, files: list[Path], labels: list[int], size: int) -> None:
        self.files, self.labels, self.size = files, labels, size

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        from PIL import Image

        with Image.open(self.files[index]) as image:
            picture = image.convert("RGB").resize((self.size, self.size))
        array = torch.from_numpy(np.asarray(picture, dtype=np.uint8).transpose(2, 0, 1).copy())
        return array.float().div_(255), self.labels[index]


def consume(batches) -> tuple[int, float]:
    """Images seen and seconds taken, touching every batch."""
    total = torch.zeros(())
    images = 0
    started = time.perf_counter()
    for x, y in batches:
        total += x.sum() + y.sum()
        images += int(x.shape[0])
    return images, time.perf_counter() - started


def athanor_rate(name: str, size: int, args: argparse.Namespace) -> tuple[float, PeakMemory]:
    from athanor.data.prepare import prepare
    from athanor.spec.data import DataSpec

    spec = DataSpec(
        dataset=name,
        image={"size": [size, size], "channels": 3},
        batching={"mode": "stream", "workers": args.workers},
        split={"val": 0.01},
    )
    prepared = prepare(spec, seed=0)
    source = prepared.batches("train", args.batch_size, shuffle=True, seed=0)
    with PeakMemory() as memory:
        images, seconds = 0, 0.0
        for epoch in range(args.epochs):
            count, spent = consume(source.epoch(epoch))
            images, seconds = images + count, seconds + spent
    return images / seconds, memory


def baseline_rate(root: Path, size: int, args: argparse.Namespace) -> tuple[float, PeakMemory]:
    files = sorted(root.glob("*/*.jpg"))
    labels = [int(path.parent.name) for path in files]
    loader = torch.utils.data.DataLoader(
        PillowFiles(files, labels, size),
        batch_size=args.batch_size,
        shuffle=True,
        num_workers=args.workers,
        generator=torch.Generator().manual_seed(0),
    )
    with PeakMemory() as memory:
        images, seconds = 0, 0.0
        for _ in range(args.epochs):
            count, spent = consume(loader)
            images, seconds = images + count, seconds + spent
    return images / seconds, memory


def one_side(side: str, size: int, args: argparse.Namespace) -> dict:
    """One side's images/s and peak memory, measured in a fresh process (so that neither
    side inherits what the other set in its process, such as the allocator's thresholds)."""
    command = [
        sys.executable,
        __file__,
        *("--side", side, "--sizes", str(size), "--folder", str(args.folder)),
        *("--images", str(args.images), "--epochs", str(args.epochs)),
        *("--batch-size", str(args.batch_size), "--workers", str(args.workers)),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{side} at {size} px failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=50_000, help="JPEG files (default 50,000)")
    parser.add_argument("--folder", type=Path, default=None, help="cache folder (default temp)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 224], help="image sides")
    parser.add_argument("--epochs", type=int, default=2, help="epochs timed per side")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--workers", type=int, default=2, help="worker processes, both sides")
    parser.add_argument("--side", choices=["athanor", "baseline"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:  # one side at one size, in a process of its own: what it set stays there
        (size,) = args.sizes
        if args.side == "athanor":
            rate, memory = athanor_rate("jpegs", size, args)
        else:
            rate, memory = baseline_rate(args.folder / "images", size, args)
        print(json.dumps({"rate": rate, "rss": memory.rss, "pss": memory.pss}))
        return

    temporary = None
    if args.folder is None:
        temporary = tempfile.TemporaryDirectory(prefix="athanor-images-")
        args.folder = Path(temporary.name)
    args.folder.mkdir(parents=True, exist_ok=True)
    root = write_images(args.folder, args.images)
    os.environ["ATHANOR_HOME"] = str(args.folder / f"home-{args.images}")

    from athanor.data.importing import import_dataset

    print(
        f"machine: {os.cpu_count()} CPU threads, {psutil.virtual_memory().total / 2**30:.0f} GiB, "
        f"torch {torch.__version__}; {args.images} JPEG files 224x224, batch size "
        f"{args.batch_size}, {args.workers} workers, {args.epochs} epochs per side"
    )
    with PeakMemory() as memory:
        started = time.perf_counter()
        result = import_dataset(root, name="jpegs")
        seconds = time.perf_counter() - started
    print(
        f"import (once): {seconds:.1f} s{' (reused)' if result.reused else ''}, "
        f"peak {memory.rss / 2**20:.0f} MiB (PSS {memory.pss / 2**20:.0f} MiB)"
    )
    print(f"{'size':>7} {'side':>9} {'images/s':>9} {'ratio':>6} {'peak MiB':>9} {'PSS MiB':>9}")
    for size in args.sizes:
        measured = {side: one_side(side, size, args) for side in ("athanor", "baseline")}
        base = measured["baseline"]["rate"]
        for side, found in measured.items():
            print(
                f"{size:>3}x{size:<3} {side:>9} {found['rate']:>9.0f} "
                f"{found['rate'] / base:>5.2f}x {found['rss'] / 2**20:>9.0f} "
                f"{found['pss'] / 2**20:>9.0f}"
            )
    if temporary is not None:
        temporary.cleanup()


if __name__ == "__main__":
    main()
