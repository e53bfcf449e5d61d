"""The quickstart's recipe against the one it replaced, side by side on the same threads.

The old recipe is kept below exactly as ``examples/mnist-cnn.yaml`` was when the quickstart
trained it (99.31% in about 29 s of training on 2 CPU cores); the new one is
``examples/mnist-quick.yaml``, what ``athanor quickstart`` trains now. Both train on full MNIST
(55,000 training images, 5,000 validation, the 10,000 test images evaluated once), in
alternating order, over ``--rounds`` seeds; the figure is the ratio of the median training
seconds (``FitResult.seconds``: the epochs and their validation, as the quickstart reports
them). The load average is printed before and after: on a shared machine absolute seconds
move with the load, the ratio of alternating runs much less, and the ratio is what counts.

    ATHANOR_DATA_MIRROR=... .venv/bin/python benchmarks/quickstart.py --rounds 3 --threads 2
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

OLD_RECIPE = {  # examples/mnist-cnn.yaml, the quickstart's spec before examples/mnist-quick.yaml
    "name": "mnist-cnn",
    "seed": 123,
    "data": {"dataset": "mnist", "split": {"val": 5000}, "normalize": "standard"},
    "model": {
        "layers": [
            {"conv2d": {"filters": 16, "kernel": 5, "padding": "same", "activation": "relu"}},
            {"maxpool": 2},
            {"conv2d": {"filters": 32, "kernel": 5, "padding": "same", "activation": "relu"}},
            {"maxpool": 2},
            "flatten",
            {"dense": {"units": 128, "activation": "relu", "dropout": 0.25}},
        ]
    },
    "train": {
        "epochs": 3,
        "batch_size": 128,
        "optimizer": {"type": "adam", "lr": 0.002},
        "schedule": {"type": "onecycle", "max_lr": 0.003},
        "loss": "cross_entropy",
        "early_stopping": {"monitor": "val_loss", "patience": 2},
        "clip_grad": {"norm": 5.0},
    },
}
NEW_RECIPE = "mnist-quick"  # a bundled example, resolved by name
TARGET = 0.99


def load_text() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="seeds, each runs both recipes")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads for both")
    parser.add_argument("--seed", type=int, default=123, help="the first round's seed")
    parser.add_argument(
        "--subset",
        type=int,
        default=None,
        help="train on this many images (and test on 2,000): the time ratio on a slice, for a "
        "busy machine; the accuracies are then not the recipes'",
    )
    args = parser.parse_args(argv)
    os.environ["ATHANOR_HOME"] = tempfile.mkdtemp(prefix="athanor-quickstart-bench-")

    import torch

    import athanor as at

    torch.set_num_threads(args.threads)
    at.datasets.load("mnist")  # read once, before any timing
    print(
        f"quickstart recipes: {args.rounds} rounds, {torch.get_num_threads()} torch threads, "
        f"{os.cpu_count()} CPU threads, torch {torch.__version__}"
    )
    print(f"load average (1, 5, 15 min) before: {load_text()}")
    recipes = {"old (mnist-cnn, 3 epochs)": OLD_RECIPE, "new (mnist-quick)": NEW_RECIPE}
    subset = (
        {"data.subset": {"train": args.subset, "val": 1000, "test": 2000}} if args.subset else {}
    )
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in recipes}
    for round_index in range(args.rounds):
        seed = args.seed + round_index
        names = list(recipes) if round_index % 2 == 0 else list(reversed(recipes))
        for name in names:
            started = time.perf_counter()
            run = at.train(recipes[name], {"seed": seed, **subset}, progress=False)
            accuracy = run.test_metrics["test_accuracy"]
            results[name].append((run.fit.seconds, accuracy))
            print(
                f"  seed {seed}  {name:<26} training {run.fit.seconds:6.1f} s  "
                f"test accuracy {accuracy:.2%}  (whole call {time.perf_counter() - started:.1f} s)",
                flush=True,
            )
    print(f"load average (1, 5, 15 min) after: {load_text()}")
    print(f"{'recipe':<26} {'median s':>9} {'min s':>7} {'accuracy (min..max)':>22}")
    medians = {}
    for name, rows in results.items():
        seconds = [s for s, _ in rows]
        accuracies = [a for _, a in rows]
        medians[name] = statistics.median(seconds)
        print(
            f"{name:<26} {medians[name]:>9.1f} {min(seconds):>7.1f} "
            f"{min(accuracies):>10.2%}..{max(accuracies):.2%}"
        )
    old, new = medians.values()
    print(f"ratio old/new (median training seconds): {old / new:.2f}x")
    new_accuracies = [a for _, a in results["new (mnist-quick)"]]
    met = all(a >= TARGET for a in new_accuracies)
    print(f"new recipe >= {TARGET:.1%} test accuracy on every seed: {'yes' if met else 'no'}")
    print("the machine may be shared: the ratio of alternating runs is the figure that counts")
    if args.subset:
        print(f"on a slice of {args.subset:,} training images: accuracies are not the recipes'")
    return 0 if met or args.subset else 1


if __name__ == "__main__":
    sys.exit(main())
