"""Draw MNIST test digits with a quickly trained LeNet-5's answers into docs/images/digits.png.

``examples/lenet5-mnist`` trained by Athanor on 5,000 training digits for 2 epochs (a
minute on a CPU), reloaded from its saved package, and asked for the first 32 test digits;
each digit is titled with the answer and its probability, in red when wrong. Run from the
repository root with MNIST available (``ATHANOR_DATA_MIRROR``):

    python docs/plots/digits.py
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window

import matplotlib.pyplot as plt
import numpy as np

IMAGES = Path(__file__).resolve().parents[1] / "images"
OVERRIDES = ["data.subset.train=5000", "train.epochs=2", "train.checkpoint.enabled=false"]
SHOWN = 32


def main() -> Path:
    os.environ["ATHANOR_HOME"] = tempfile.mkdtemp(prefix="athanor-plot-")
    import athanor as at
    from athanor.lab.images import dataset_sample
    from athanor.settings import current_settings

    run = at.train("lenet5-mnist", OVERRIDES)
    print("test metrics", run.test_metrics)
    predictor = run.predictor()
    samples = [dataset_sample("mnist", index, current_settings()) for index in range(SHOWN)]
    probabilities = predictor.predict_proba([sample.pil() for sample in samples])
    figure, axes = plt.subplots(4, SHOWN // 4, figsize=(9.6, 5.4))
    for axis, sample, scores in zip(axes.flat, samples, probabilities, strict=True):
        answer = int(np.argmax(scores))
        wrong = str(answer) != sample.label
        axis.imshow(sample.pixels[0], cmap="gray_r")
        axis.set_title(
            f"{answer} ({scores[answer]:.2f})", fontsize=9, color="tab:red" if wrong else "black"
        )
        axis.axis("off")
    accuracy = run.test_metrics.get("test_accuracy", float("nan"))
    figure.suptitle(
        f"LeNet-5, 5,000 training digits, 2 epochs: test accuracy {accuracy:.4f}", fontsize=10
    )
    figure.tight_layout()
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / "digits.png"
    figure.savefig(path, dpi=72)
    return path


if __name__ == "__main__":
    print(main())
