"""Log anomaly detection on HDFS: Drain's template mining, then DeepLog beside an n-gram
baseline.

1. Template mining: Drain (``athanor.data.log_templates``) over loghub's HDFS_2k, grouping
   accuracy against its ground-truth templates (Drain's paper reports 0.9975) and lines
   per second (best of three passes).
2. Sessions: ``examples/deeplog-hdfs.yaml`` (log_lstm, h = 10, g chosen on validation)
   trained on DeepLog's
   HDFS sessions, through the Python API into a fresh store. Only normal sessions are
   split (train 60% / val 10% / test 30%, whole sessions); the test sessions are the
   held-out normal ones plus all 16,838 anomalous ones, which training never sees. With
   ``--split-by sequence`` every session with the same key sequence lies in one split.
   With ``--no-end`` no session end is predicted (DeepLog as published).
   The same test sessions are flagged by an n-gram detector (``NgramKeyModel``: the top g
   followers of the previous n - 1 keys, counted on the training sessions).

Precision, recall and F1 take "anomalous" as positive. The test split has about eleven
anomalous sessions per normal one, so precision is high for any detector that flags few
normal sessions; the false-positive rate on the held-out normal sessions is printed too.

    ATHANOR_DATA_MIRROR=DIR OMP_NUM_THREADS=1 python benchmarks/log_anomaly.py \
        [--epochs 8] [--split-by session sequence] [--g 9]
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import athanor as at
from athanor.data.download import fetch
from athanor.data.log_lines import HDFS_FORMAT, read_log_lines
from athanor.data.log_templates import TemplateMiner, grouping_accuracy
from athanor.data.log_windows import KeyIndex
from athanor.data.prepare import prepare
from athanor.data.sources.hdfs_logs import HDFS_2K
from athanor.settings import Settings, current_settings
from athanor.spec import load_spec
from athanor.spec.examples import EXAMPLES_DIR
from athanor.training.log_anomaly import NgramKeyModel, score_sessions, session_metrics

SPLIT = {"val": 0.1, "test": 0.3}


def template_mining(settings: Settings) -> dict[str, float]:
    """Drain on HDFS_2k: grouping accuracy and lines per second."""
    path = fetch(HDFS_2K, settings=settings)
    structured = Path(str(path) + "_structured.csv")
    truth = [row["EventId"] for row in csv.DictReader(structured.open())]
    contents = [line.content for line in read_log_lines(path, HDFS_FORMAT)]
    best = float("inf")
    for _ in range(3):
        miner = TemplateMiner()
        started = time.perf_counter()
        keys = [miner.add(content).key for content in contents]
        best = min(best, time.perf_counter() - started)
    return {
        "lines": len(contents),
        "templates": len(miner.templates),
        "true_templates": len(set(truth)),
        "accuracy": grouping_accuracy(truth, keys),
        "lines_per_second": len(contents) / best,
    }


def sessions(
    settings: Settings, epochs: int, split_by: str, g: int, end: bool = True
) -> dict[str, Any]:
    """Train log_lstm, flag the test sessions; the n-gram baseline on the same sessions."""
    overrides = {
        "data.split": SPLIT,
        "data.log.split_by": split_by,
        "data.log.end": end,
        "train.epochs": epochs,
    }
    started = time.perf_counter()
    run = at.train(
        str(EXAMPLES_DIR / "deeplog-hdfs.yaml"), overrides, progress=False, settings=settings
    )
    seconds = time.perf_counter() - started
    spec = load_spec(str(EXAMPLES_DIR / "deeplog-hdfs.yaml"), overrides)
    prepared = prepare(spec.data, spec.seed, settings=settings)
    index = KeyIndex(list(prepared.schema.input.vocab or []))
    window = spec.data.log.window
    end = spec.data.log.end
    test = prepared.sessions["test"]
    train = prepared.sessions["train"]
    rule = run.run.summary["reports"]["log_anomaly_rule"]
    lstm = {}
    for top in sorted({3, 5, 7, g, rule["top_g"]}):
        scores = score_sessions(run.network, test.keys, test.labels, index, window, top, end=end)
        lstm[top] = scores.metrics
    ngram = {}
    for n in (2, 3, 4):
        model = NgramKeyModel(n, end=end).fit(train.keys, index)
        flags = np.array([len(u) > 0 for u in model.unexpected(test.keys, index, g)])
        ngram[n] = session_metrics(flags, test.labels)
    return {
        "train_seconds": seconds,
        "fit_seconds": run.fit.seconds,
        "epochs": run.fit.epochs_run,
        "sizes": prepared.record["log"]["sessions"],
        "lstm": lstm,
        "ngram": ngram,
        "rule": rule,
    }


def _row(name: str, m: dict[str, float]) -> str:
    return (
        f"| {name} | {m['precision']:.4f} | {m['recall']:.4f} | {m['f1']:.4f} | "
        f"{m['false_positive_rate']:.4f} | {m['false_positives']} / {m['false_negatives']} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--g", type=int, default=9)
    parser.add_argument("--split-by", nargs="+", default=["session", "sequence"])
    parser.add_argument(
        "--no-end",
        action="store_true",
        help="Leave out the end-of-session key (DeepLog as published predicts none).",
    )
    args = parser.parse_args()
    load = os.getloadavg()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, load average "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}, {torch.get_num_threads()} torch "
        f"thread(s), torch {torch.__version__}"
    )
    mirrors = current_settings().data_mirrors
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch)
        settings = Settings(
            home=home, db_url=f"sqlite:///{home / 'athanor.db'}", data_mirrors=mirrors
        )
        mining = template_mining(settings)
        print(
            f"\nDrain on HDFS_2k: {mining['templates']} templates for {mining['true_templates']}"
            f" true ones; grouping accuracy {mining['accuracy']:.4f} (paper: 0.9975); "
            f"{mining['lines_per_second']:,.0f} lines/s"
        )
        for split_by in args.split_by:
            result = sessions(settings, args.epochs, split_by, args.g, not args.no_end)
            sizes = result["sizes"]
            print(
                f"\nHDFS sessions{' without end keys' if args.no_end else ''}, split by "
                f"{split_by}: train {sizes['train']['normal']:,} "
                f"normal; val {sizes['val']['normal']:,} normal; test "
                f"{sizes['test']['normal']:,} normal + {sizes['test']['anomalous']:,} "
                f"anomalous. log_lstm: {result['epochs']} epochs, fit {result['fit_seconds']:.1f}"
                f" s ({result['train_seconds']:.1f} s with preparation, testing and packaging)"
            )
            print("| detector | precision | recall | F1 | FPR (normal) | FP / FN |")
            print("|---|---|---|---|---|---|")
            rule = result["rule"]
            for top, metrics in result["lstm"].items():
                chosen = " (chosen on validation)" if top == rule["top_g"] else ""
                print(_row(f"log_lstm, g = {top}{chosen}", metrics))
            for n, metrics in result["ngram"].items():
                print(_row(f"{n}-gram, g = {args.g}", metrics))
            print(
                f"g = {rule['top_g']}: {rule['chosen']} (it flags "
                f"{rule.get('validation_false_positive_rate', float('nan')):.4f} of them)"
            )
    load = os.getloadavg()
    print(f"\nload average at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")


if __name__ == "__main__":
    main()
