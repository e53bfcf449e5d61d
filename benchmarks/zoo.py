"""Athanor's own zoo, and what transfer from it is worth on digits the source never saw.

1. Trains the reference packages on built-in data and publishes them into a zoo folder
   (default ``$ATHANOR_HOME/zoo``; see ``athanor.registry.zoo``), each pinned by its content
   hash in ``zoo.json`` with its test metrics, which its model card holds too:

   - ``mnist-cnn-digits-0-4``: the MNIST CNN (``examples/mnist-cnn.yaml``) on digits 0-4 only
     (``data.classes: [0, 1, 2, 3, 4]``);
   - ``mnist-cnn``: the same CNN on all ten digits.

2. Measures the transfer: digits 5-9 with few labelled images (50, 200, 1,000 drawn from the
   training images by each seed), the same CNN trained from scratch, as frozen features of
   ``zoo:mnist-cnn-digits-0-4`` (``train.transfer: features``: only the new 5-class head
   learns) and fine-tuned from it (``fine_tune``: every layer, the backbone at 0.1 times the
   rate). Every run of a size and seed sees the same images for the same 30 epochs; each is
   tested on all 4,861 official test images of digits 5-9. Each seed runs in a process of its
   own (one torch thread), beside the training of the full ``mnist-cnn``. Prints the table of
   docs/results.md and writes the numbers as JSON for ``docs/plots/transfer_learning.py``.

    .venv/bin/python benchmarks/zoo.py [--zoo DIR] [--sizes 50 200 1000] [--seeds 0 1 2]
        [--source-epochs 3] [--reuse-source]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat
from pathlib import Path
from typing import Any

import torch
import yaml

import athanor as at
from athanor.registry.zoo import publish_to_zoo
from athanor.settings import Settings, current_settings
from athanor.spec.examples import EXAMPLES_DIR

SOURCE_CLASSES = [0, 1, 2, 3, 4]
TARGET_CLASSES = [5, 6, 7, 8, 9]
SOURCE = "mnist-cnn-digits-0-4"
METHODS = ("scratch", "features", "fine_tune")
EPOCHS = 30
"""Epochs of every comparison run (batches of 32, or half the labels when fewer)."""
RESULTS = Path(__file__).resolve().parents[1] / "docs" / "plots" / "transfer-learning.json"


def settings_in(home: Path) -> Settings:
    mirrors = current_settings().data_mirrors
    return Settings(home=home, db_url=f"sqlite:///{home / 'athanor.db'}", data_mirrors=mirrors)


def cnn_spec(epochs: int | None = None, **data: Any) -> dict[str, Any]:
    """The MNIST CNN example as a mapping, with ``data`` keys (and the epochs) replaced."""
    spec = yaml.safe_load((EXAMPLES_DIR / "mnist-cnn.yaml").read_text())
    spec["data"] = {**spec["data"], **data}
    if epochs is not None:
        spec["train"]["epochs"] = epochs
    spec["train"]["checkpoint"] = {"enabled": False}
    return spec


def publish(
    name: str, spec: dict[str, Any], description: str, settings: Settings, zoo: Path
) -> dict[str, Any]:
    began = time.time()
    spec = {**spec, "name": name, "description": description}
    run = at.train(spec, progress=False, settings=settings)
    assert run.package_dir is not None
    test = {k: round(v, 4) for k, v in run.test_metrics.items()}
    info = {
        "description": description,
        "dataset": spec["data"]["dataset"],
        "classes": run.run.summary["data"].get("classes") or [str(c) for c in range(10)],
        "test_metrics": test,
        "spec": spec,
        "athanor": at.__version__,
        "train_seconds": round(time.time() - began, 1),
    }
    digest = publish_to_zoo(run.package_dir, name, zoo, info)
    print(f"published zoo:{name} ({digest[:12]}): {test} in {info['train_seconds']} s", flush=True)
    return info


PACKAGES = {
    SOURCE: (
        SOURCE_CLASSES,
        "The MNIST CNN trained on digits 0-4 only: a source for transfer to 5-9.",
    ),
    "mnist-cnn": (None, "The MNIST CNN (examples/mnist-cnn.yaml) trained on all ten digits."),
}


def publish_in_own_home(name: str, epochs: int, zoo: Path) -> dict[str, Any]:
    """Train and publish the package ``name`` of :data:`PACKAGES` in a store of its own."""
    torch.set_num_threads(1)
    classes, description = PACKAGES[name]
    data = {"classes": classes} if classes else {}
    with tempfile.TemporaryDirectory(prefix="athanor-zoo-") as scratch:
        settings = settings_in(Path(scratch))
        return publish(name, cnn_spec(epochs, **data), description, settings, zoo)


def comparison_run(method: str, labels: int, seed: int, settings: Settings) -> float:
    batch = min(32, labels // 2)
    spec = cnn_spec(EPOCHS, classes=TARGET_CLASSES, split={"val": 0}, subset={"train": labels})
    spec.update(name=f"digits-5-9-{method}-{labels}-{seed}", seed=seed)
    spec["train"].update(
        batch_size=batch, optimizer={"type": "adam", "lr": 0.002}, schedule={"type": "constant"}
    )
    spec["train"].pop("early_stopping", None)  # no validation split: a fixed budget
    if method != "scratch":
        spec["train"]["init_from"] = f"zoo:{SOURCE}"
        spec["train"]["transfer"] = method
    run = at.train(spec, progress=False, settings=settings)
    return float(run.test_metrics["test_accuracy"])


def comparison_seed(seed: int, sizes: list[int], zoo: Path) -> dict[str, dict[str, float]]:
    """Every size and method of one seed, in a store of its own (one process per seed)."""
    torch.set_num_threads(1)
    found: dict[str, dict[str, float]] = {m: {} for m in METHODS}
    with tempfile.TemporaryDirectory(prefix=f"athanor-zoo-{seed}-") as scratch:
        settings = settings_in(Path(scratch))
        # the runs find the source in their home's zoo, copied (and verified) from the zoo
        info = json.loads((zoo / "zoo.json").read_text())["packages"][SOURCE]
        publish_to_zoo(zoo / SOURCE, SOURCE, settings.home / "zoo", info)
        for labels in sizes:
            for method in METHODS:
                value = comparison_run(method, labels, seed, settings)
                found[method][str(labels)] = value
                print(f"{labels:>5} labels, seed {seed}, {method:<9}: {value:.4f}", flush=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoo", type=Path, default=current_settings().home / "zoo")
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 1000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument(
        "--source-epochs", type=int, default=3, help="epochs of the published packages"
    )
    parser.add_argument(
        "--reuse-source",
        action="store_true",
        help=f"use the zoo folder's {SOURCE} as it is (the full mnist-cnn is still published)",
    )
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads, "
        f"torch {torch.__version__}; zoo: {args.zoo}",
        flush=True,
    )
    packages: dict[str, Any] = {}
    if not args.reuse_source:
        packages[SOURCE] = publish_in_own_home(SOURCE, args.source_epochs, args.zoo)
    index = json.loads((args.zoo / "zoo.json").read_text())["packages"]
    packages = packages or {SOURCE: index[SOURCE]}
    began = time.time()
    accuracy: dict[str, dict[str, list[float]]] = {m: {} for m in METHODS}
    with ProcessPoolExecutor(len(args.seeds) + 1) as pool:
        # the full MNIST CNN is not needed by the comparison: trained beside it
        full = pool.submit(publish_in_own_home, "mnist-cnn", args.source_epochs, args.zoo)
        per_seed = list(pool.map(comparison_seed, args.seeds, repeat(args.sizes), repeat(args.zoo)))
        seconds = time.time() - began
        for found in per_seed:
            for method in METHODS:
                for labels in args.sizes:
                    accuracy[method].setdefault(str(labels), []).append(found[method][str(labels)])
        print(f"\ncomparison: {seconds:.0f} s\n")
        print("| labelled images of 5-9 | from scratch | frozen features | fine-tuned |")
        print("|---|---|---|---|")
        for labels in args.sizes:
            cells = []
            for method in METHODS:
                values = accuracy[method][str(labels)]
                spread = statistics.stdev(values) if len(values) > 1 else 0.0
                cells.append(f"{100 * statistics.mean(values):.1f}% ± {100 * spread:.1f}")
            print(f"| {labels:,} | " + " | ".join(cells) + " |", flush=True)
        results = {
            "source": SOURCE,
            "packages": packages,
            "epochs": EPOCHS,
            "seeds": args.seeds,
            "test_accuracy": accuracy,
            "comparison_seconds": round(seconds),
            "machine": f"{platform.machine()}, one torch thread per seed's process",
        }
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(json.dumps(results, indent=1) + "\n")
        print(f"\n{args.results}", flush=True)
        packages["mnist-cnn"] = full.result()
    args.results.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
