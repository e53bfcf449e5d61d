"""CenterNet on ``digits-detection``: test mAP@0.5 and the training wall time on this CPU.

The issue's goal: mAP@0.5 >= 0.90 within 5 minutes of training on 2 CPU cores. The script
trains ``examples/centernet-digits.yaml`` (options below override it) in a throwaway home,
then prints the test split's COCO mAP@0.5 and mAP@[.5:.95], the training time (epochs
only, without loading and composing the dataset), the torch threads and the load average
before and after, since a shared machine slows everything down:

    ATHANOR_DATA_MIRROR=../shared/data python benchmarks/detection_digits.py
    python benchmarks/detection_digits.py --epochs 2 --train 500   # a quick check
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import athanor as at
from athanor.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[1] / "src/athanor/examples/centernet-digits.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, help="override train.epochs")
    parser.add_argument("--train", type=int, help="training canvases (data.subset.train)")
    parser.add_argument("--lr", type=float, help="override the learning rate")
    parser.add_argument("--batch", type=int, help="override train.batch_size")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()

    spec = yaml.safe_load(EXAMPLE.read_text())
    if args.epochs:
        spec["train"]["epochs"] = args.epochs
    if args.train:
        spec["data"].setdefault("subset", {})["train"] = args.train
    if args.batch:
        spec["train"]["batch_size"] = args.batch
    if args.lr:
        spec["train"]["optimizer"]["lr"] = args.lr
        if "schedule" in spec["train"] and "max_lr" in spec["train"]["schedule"]:
            spec["train"]["schedule"]["max_lr"] = args.lr
    mirrors = tuple(Path(p) for p in os.environ.get("ATHANOR_DATA_MIRROR", "").split(":") if p)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(
            home=Path(home), db_url=f"sqlite:///{home}/athanor.db", data_mirrors=mirrors
        )
        started = time.perf_counter()
        run = at.train(spec, progress=False, settings=settings)
        total = time.perf_counter() - started
    result = {
        "test_map50": run.test_metrics.get("test_map50"),
        "test_map": run.test_metrics.get("test_map"),
        "training_seconds": round(run.fit.seconds, 1),
        "total_seconds": round(total, 1),
        "epochs": run.fit.epochs_run,
        "best_epoch": run.fit.best_epoch,
        "train_canvases": spec["data"].get("subset", {}).get("train"),
        "torch_threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "load_before": [round(v, 1) for v in load_before],
        "load_after": [round(v, 1) for v in os.getloadavg()],
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"test mAP@0.5         {result['test_map50']:.4f}  (goal >= 0.90)")
    print(f"test mAP@[.5:.95]    {result['test_map']:.4f}")
    print(f"training wall time   {result['training_seconds']:.1f} s  (goal <= 300 s)")
    print(f"with loading         {result['total_seconds']:.1f} s")
    print(f"epochs               {result['epochs']} (best {result['best_epoch']})")
    print(f"training canvases    {result['train_canvases']}")
    print(f"torch threads / CPUs {result['torch_threads']} / {result['cpus']}")
    print(f"load average         before {result['load_before']}, after {result['load_after']}")


if __name__ == "__main__":
    main()
