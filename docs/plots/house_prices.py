"""Draw the house-price learning curves into docs/images/house-prices.png.

``examples/mlp-california`` trained by Athanor twice on the same split: as a linear
regression (``model.hidden=[]``: the output layer alone) and as the example's MLP
(128-64, ReLU); the validation RMSE in dollars after every epoch, early stopping off.
Run from the repository root with the dataset available (``ATHANOR_DATA_MIRROR``), in
about a minute on a CPU:

    python docs/plots/house_prices.py
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window

import matplotlib.pyplot as plt

IMAGES = Path(__file__).resolve().parents[1] / "images"
EPOCHS = 20
COMMON = [f"train.epochs={EPOCHS}", "train.early_stopping.patience=1000"]
MODELS = (
    ("linear regression (hidden: [])", ["model.hidden=[]"]),
    ("MLP 128-64, ReLU (the example)", []),
)


def main() -> Path:
    os.environ["ATHANOR_HOME"] = tempfile.mkdtemp(prefix="athanor-plot-")
    import athanor as at

    figure, axes = plt.subplots(figsize=(6.4, 3.6))
    for label, overrides in MODELS:
        run = at.train("mlp-california", [*COMMON, *overrides])
        rmse = [row["val_rmse"] for row in run.fit.history]
        axes.plot(range(1, len(rmse) + 1), rmse, label=label)
        print(label, "epoch 5", round(rmse[4]), "best", round(min(rmse)), run.test_metrics)
    axes.set_xlabel("epoch")
    axes.set_ylabel("validation RMSE (dollars)")
    axes.set_title("California housing: a line against a small MLP", fontsize=9)
    axes.set_ylim(40000, 120000)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / "house-prices.png"
    figure.savefig(path, dpi=72)
    return path


if __name__ == "__main__":
    print(main())
