"""Draw the ROC and precision-recall curves of a real run into docs/images/roc-auc.png.

``docs/specs/boston-river.yaml`` (is a Boston census tract on the Charles River? 35 of 506
are) trained by Athanor; the curves are the ones it saves with the test evaluation
(``artifacts/runs/<id>/evaluation/evaluation.json``), for the 152 test tracts. Run from the
repository root with the dataset available (``ATHANOR_DATA_MIRROR``), in seconds:

    python docs/plots/roc_curves.py
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window

import matplotlib.pyplot as plt

DOCS = Path(__file__).resolve().parents[1]
IMAGES = DOCS / "images"


def main() -> Path:
    home = Path(tempfile.mkdtemp(prefix="athanor-plot-"))
    os.environ["ATHANOR_HOME"] = str(home)
    import torch

    import athanor as at

    torch.set_num_threads(1)  # the same numbers on any machine, and a quiet neighbour
    run = at.train(str(DOCS / "specs" / "boston-river.yaml"), [])
    print("test", {k: round(v, 4) for k, v in run.test_metrics.items()})
    report = json.loads(next(home.rglob("evaluation/evaluation.json")).read_text())
    binary = report["binary"]
    roc = binary["roc"]["points"]
    pr = binary["pr"]["points"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(9.0, 4.0))
    left.plot(
        [p[0] for p in roc], [p[1] for p in roc], label=f"MLP (AUC {binary['roc']['auc']:.3f})"
    )
    left.plot([0, 1], [0, 1], color="0.5", linestyle="--", label="guessing (AUC 0.5)")
    left.set_xlabel("false positive rate (1 − specificity)")
    left.set_ylabel("true positive rate (recall)")
    left.set_title("ROC curve, 152 test tracts", fontsize=9)
    left.legend(fontsize=8, loc="lower right")
    matrix = report["confusion_matrix"]  # rows: actual 0, 1; columns: predicted
    positives = sum(matrix[1]) / (sum(matrix[0]) + sum(matrix[1]))
    right.plot(
        [p[0] for p in pr],
        [p[1] for p in pr],
        label=f"MLP (average precision {binary['pr']['average_precision']:.3f})",
    )
    right.axhline(positives, color="0.5", linestyle="--", label=f"guessing ({positives:.3f})")
    right.set_xlabel("recall")
    right.set_ylabel("precision")
    right.set_ylim(0, 1.02)
    right.set_title("Precision-recall curve, same predictions", fontsize=9)
    right.legend(fontsize=8)
    figure.tight_layout()
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / "roc-auc.png"
    figure.savefig(path, dpi=72)
    print("confusion", matrix, "per class", report["per_class"])
    print("roc auc", binary["roc"]["auc"], "average precision", binary["pr"]["average_precision"])
    return path


if __name__ == "__main__":
    print(main())
