"""Active learning on MNIST: labels needed to reach a test accuracy, uncertainty vs random.

Each seed starts from the same random labeled set (``--start``, 100). In rounds, a strategy
adds ``--step`` (100) labels from the unlabeled pool: ``uncertainty`` takes the items the
current model is least sure of (``--measure``: least confidence, margin or entropy, as
``athanor label items --sort uncertainty`` orders them), ``random`` takes random ones. After
each round the same small CNN is trained from scratch with the same budget (``--steps``
optimizer steps of ``--batch`` images) and tested on the official test set. The figure is
the number of labels each strategy needs to reach each target accuracy (95% and 98%), its
mean over the seeds, and the ratio random / uncertainty (the goal is 1.5 or more).

The full run (60,000-image pool, 3 seeds, up to 3,000 labels) is a GPU job of several
minutes. On a CPU, run each seed and strategy as a process of its own (``--first-seed``,
``--strategies``), with a narrower network (``--width 16``) and the uncertainty scored on a
random 10,000 of the pool (``--candidates``), then report what their logs printed, finished
or not (a run cut short counts as needing more labels than it had: a lower bound):

    python benchmarks/active_learning.py --seeds 1 --first-seed 0 --strategies random \
        --width 16 --steps 300 --candidates 10000 > random0.log
    python benchmarks/active_learning.py --from-logs *.log

A reduced run checks the script:

    python benchmarks/active_learning.py --pool 5000 --test 2000 --seeds 1 --max-labels 600 \
        --steps 150 --targets 0.85,0.9
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from athanor.data.idx import read_idx_file
from athanor.label.uncertainty import most_uncertain


def mnist(mirror: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST from the mirror: train images/labels and test images/labels."""
    folder = mirror / "mnist"
    load = lambda name: read_idx_file(folder / name)  # noqa: E731
    return (
        load("train-images-idx3-ubyte.gz"),
        load("train-labels-idx1-ubyte.gz").astype(np.int64),
        load("t10k-images-idx3-ubyte.gz"),
        load("t10k-labels-idx1-ubyte.gz").astype(np.int64),
    )


def small_cnn(width: int = 32) -> nn.Module:
    """The same network every round: two 3x3 convolutions (``width`` and twice as many
    channels) and a dense layer."""
    return nn.Sequential(
        nn.Conv2d(1, width, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(2 * width * 7 * 7, 128),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Linear(128, 10),
    )


def train(x: torch.Tensor, y: torch.Tensor, args: argparse.Namespace, seed: int) -> nn.Module:
    """A fresh network trained for the fixed budget on the labeled images."""
    torch.manual_seed(seed)
    model = small_cnn(args.width).to(x.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    model.train()
    for _ in range(args.steps):
        batch = torch.randint(0, len(x), (min(args.batch, len(x)),), generator=generator)
        batch = batch.to(x.device)
        loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model.eval()


@torch.inference_mode()
def probabilities(model: nn.Module, x: torch.Tensor, chunk: int = 4096) -> np.ndarray:
    parts = [torch.softmax(model(x[i : i + chunk]).float(), 1) for i in range(0, len(x), chunk)]
    return torch.cat(parts).cpu().numpy()


def run(
    strategy: str,
    seed: int,
    data: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    args: argparse.Namespace,
) -> list[tuple[int, float]]:
    """``(labels, test accuracy)`` after each round, until the highest target or the cap."""
    pool_x, pool_y, test_x, test_y = data
    rng = np.random.default_rng(seed)
    labeled = rng.choice(len(pool_x), args.start, replace=False)  # the same for both strategies
    chooser = np.random.default_rng(seed + 1000)
    curve: list[tuple[int, float]] = []
    while True:
        index = torch.as_tensor(labeled, device=pool_x.device)
        model = train(pool_x[index], pool_y[index], args, seed)
        accuracy = float((probabilities(model, test_x).argmax(1) == test_y.cpu().numpy()).mean())
        curve.append((len(labeled), accuracy))
        print(
            f"  {strategy:11s} seed {seed}: {len(labeled):5d} labels -> {accuracy:.4f}", flush=True
        )
        if accuracy >= max(args.targets) or len(labeled) + args.step > args.max_labels:
            return curve
        unlabeled = np.setdiff1d(np.arange(len(pool_x)), labeled)
        if strategy == "uncertainty":
            if args.candidates and len(unlabeled) > args.candidates:
                unlabeled = chooser.choice(unlabeled, args.candidates, replace=False)
            scores = probabilities(model, pool_x[torch.as_tensor(unlabeled, device=pool_x.device)])
            chosen = unlabeled[most_uncertain(scores, args.step, args.measure)]
        else:
            chosen = chooser.choice(unlabeled, args.step, replace=False)
        labeled = np.concatenate([labeled, chosen])


def labels_needed(curve: list[tuple[int, float]], target: float) -> int | None:
    return next((labels for labels, accuracy in curve if accuracy >= target), None)


def report(curves: dict[str, list[list[tuple[int, float]]]], targets: list[float]) -> None:
    """Labels each strategy needed to reach each target, per seed and on average, and the
    ratio random / uncertainty. A run that stopped short of a target counts as needing more
    than it had: the mean and the ratio are then lower bounds (``>``)."""
    for target in targets:
        means: dict[str, tuple[float, bool]] = {}
        for strategy, runs in curves.items():
            if not runs:
                continue
            needed = [labels_needed(curve, target) for curve in runs]
            shown = ", ".join(
                str(n) if n else f">{curve[-1][0]}" for n, curve in zip(needed, runs, strict=True)
            )
            counted = [n or curve[-1][0] for n, curve in zip(needed, runs, strict=True)]
            short = any(n is None for n in needed)
            means[strategy] = (sum(counted) / len(counted), short)
            mark = ">" if short else ""
            print(f"  {target:.0%} {strategy:11s}: {shown} (mean {mark}{means[strategy][0]:.0f})")
        if "uncertainty" in means and "random" in means:
            (smart, smart_short), (chance, chance_short) = means["uncertainty"], means["random"]
            if smart_short:
                print(f"  {target:.0%} ratio random / uncertainty: n/a (uncertainty fell short)")
            else:
                mark = ">=" if chance_short else ""
                print(f"  {target:.0%} ratio random / uncertainty: {mark}{chance / smart:.2f}x")


PROGRESS = re.compile(r"^\s+(\w+)\s+seed (\d+):\s+(\d+) labels -> ([0-9.]+)$")


def curves_from_logs(paths: list[str]) -> dict[str, list[list[tuple[int, float]]]]:
    """The curves printed by earlier runs (one process per seed or strategy), even unfinished;
    where two logs hold a run of the same strategy and seed, the longer one."""
    found: dict[tuple[str, int], list[tuple[int, float]]] = {}
    for path in paths:
        here: dict[tuple[str, int], list[tuple[int, float]]] = {}
        for line in Path(path).read_text().splitlines():
            if match := PROGRESS.match(line):
                key = (match[1], int(match[2]))
                here.setdefault(key, []).append((int(match[3]), float(match[4])))
        for key, curve in here.items():
            if len(curve) > len(found.get(key, [])):
                found[key] = curve
    curves: dict[str, list[list[tuple[int, float]]]] = {"uncertainty": [], "random": []}
    for (strategy, _), curve in sorted(found.items()):
        curves.setdefault(strategy, []).append(curve)
    return curves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mirror", default=os.environ.get("ATHANOR_DATA_MIRROR", "../shared/data"))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds run from this one")
    parser.add_argument("--start", type=int, default=100, help="random labels to start from")
    parser.add_argument("--step", type=int, default=100, help="labels added each round")
    parser.add_argument("--max-labels", type=int, default=3000, help="stop a run here")
    parser.add_argument("--targets", default="0.95,0.98", help="test accuracies to reach")
    parser.add_argument("--measure", default="least", choices=("least", "margin", "entropy"))
    parser.add_argument("--steps", type=int, default=500, help="optimizer steps per round")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--width", type=int, default=32, help="channels of the first conv")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--pool", type=int, default=60000, help="unlabeled pool (train images)")
    parser.add_argument("--test", type=int, default=10000, help="test images")
    parser.add_argument("--candidates", type=int, default=0, help="score this many (0: all)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--strategies", default="uncertainty,random", help="which to run (separate processes)"
    )
    parser.add_argument("--json", dest="json_path", help="write the curves here")
    parser.add_argument("--from-logs", nargs="+", help="report the curves these logs printed")
    args = parser.parse_args()
    args.targets = [float(t) for t in args.targets.split(",")]
    if args.from_logs:
        curves = curves_from_logs(args.from_logs)
        seeds = {s: len(c) for s, c in curves.items()}
        print(f"labels needed (from {len(args.from_logs)} logs; runs per strategy: {seeds})")
        report(curves, args.targets)
        return
    device = torch.device(args.device)
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else "none"
    print(f"machine: {torch.get_num_threads()} CPU threads, GPU: {gpu}")
    print(
        f"settings: pool {args.pool}, test {args.test}, seeds {args.seeds}, start {args.start}, "
        f"+{args.step}/round up to {args.max_labels}, {args.steps} steps x {args.batch}, "
        f"measure {args.measure}"
    )
    train_x, train_y, test_x, test_y = mnist(Path(args.mirror))
    picked = np.random.default_rng(0).permutation(len(train_x))[: args.pool]
    tensor = lambda a: torch.as_tensor(a, dtype=torch.float32, device=device)[:, None] / 255.0  # noqa: E731
    data = (
        (tensor(train_x[picked]) - 0.1307) / 0.3081,
        torch.as_tensor(train_y[picked], device=device),
        (tensor(test_x[: args.test]) - 0.1307) / 0.3081,
        torch.as_tensor(test_y[: args.test], device=device),
    )
    started = time.perf_counter()
    curves: dict[str, list[list[tuple[int, float]]]] = {
        strategy: [] for strategy in args.strategies.split(",")
    }
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        for strategy in curves:
            curves[strategy].append(run(strategy, seed, data, args))
    print(f"\nlabels needed ({time.perf_counter() - started:.0f} s in all)")
    report(curves, args.targets)
    if args.json_path:
        Path(args.json_path).write_text(json.dumps({"args": vars(args), "curves": curves}))


if __name__ == "__main__":
    main()
