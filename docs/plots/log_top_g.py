"""Draw DeepLog's one knob, g, against what it catches and what it costs, into
docs/images/log-top-g.png.

``examples/deeplog-hdfs.yaml`` trained by Athanor for one epoch on DeepLog's HDFS sessions
(some minutes on a CPU); every key of the test sessions (1,456 held-out normal blocks and
16,838 anomalous ones) is ranked once by the model, and for g = 1 to 15 the top-g rule's
recall on the anomalous sessions and false-positive rate on the normal ones are counted,
with the g the run chose on validation marked. Run from the repository root with the HDFS
key files available (``ATHANOR_DATA_MIRROR``):

    python docs/plots/log_top_g.py
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window

import matplotlib.pyplot as plt
import numpy as np

DOCS = Path(__file__).resolve().parents[1]
IMAGES = DOCS / "images"
EXAMPLE = DOCS.parent / "examples" / "deeplog-hdfs.yaml"
OVERRIDES = {"train.epochs": 1, "train.checkpoint.enabled": False}
LARGEST = 15


def main() -> Path:
    home = Path(tempfile.mkdtemp(prefix="athanor-plot-"))
    os.environ["ATHANOR_HOME"] = str(home)
    import torch

    import athanor as at
    from athanor.data.log_windows import KeyIndex
    from athanor.data.prepare import prepare
    from athanor.spec import load_spec
    from athanor.training.log_anomaly import key_ranks, session_metrics

    torch.set_num_threads(1)  # the same numbers on any machine, and a quiet neighbour
    run = at.train(str(EXAMPLE), OVERRIDES, progress=False)
    print("test", {k: round(v, 4) for k, v in run.test_metrics.items()})
    chosen = run.run.summary["reports"]["log_anomaly_rule"]["top_g"]
    spec = load_spec(str(EXAMPLE), OVERRIDES)
    prepared = prepare(spec.data, spec.seed)
    index = KeyIndex(list(prepared.schema.input.vocab or []))
    test = prepared.sessions["test"]
    ranks = key_ranks(run.network, test.keys, index, spec.data.log.window, end=spec.data.log.end)
    worst = np.array([r.max() if len(r) else -1 for r in ranks])
    gs = np.arange(1, LARGEST + 1)
    recall, false_positives = [], []
    for g in gs:
        metrics = session_metrics(worst >= g, test.labels)
        recall.append(metrics["recall"])
        false_positives.append(metrics["false_positive_rate"])
        print(
            f"g {g:2d}: recall {metrics['recall']:.4f}, false-positive rate "
            f"{metrics['false_positive_rate']:.4f}, precision {metrics['precision']:.4f}"
        )
    figure, axes = plt.subplots(figsize=(6.4, 3.6))
    axes.plot(gs, recall, marker="o", color="tab:blue", label="recall (anomalous sessions)")
    axes.plot(
        gs, false_positives, marker="s", color="tab:red", label="false-positive rate (normal)"
    )
    axes.set_xlabel("g: a key is expected when it is among the model's g most likely")
    axes.set_ylabel("share of sessions flagged")
    axes.set_ylim(0, 1.05)
    axes.set_xticks(gs)
    axes.axvline(chosen, color="0.5", linestyle="--")
    axes.annotate(
        f"g = {chosen}, chosen on validation",
        (chosen, 0.55),
        xytext=(4, 0),
        textcoords="offset points",
        fontsize=8,
    )
    axes.legend(fontsize=8, loc="upper right")
    axes.grid(True, alpha=0.3)
    axes.set_title("DeepLog on HDFS, one epoch: the top-g rule on the test sessions", fontsize=9)
    figure.tight_layout()
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / "log-top-g.png"
    figure.savefig(path, dpi=90)
    return path


if __name__ == "__main__":
    print(main())
