"""Draw a DCGAN learning to write digits into docs/images/gan-samples.png.

``examples/dcgan-mnist`` trained by Athanor on 2,500 MNIST digits for 4 epochs (about two
minutes on one CPU core); the grids of 64 generated digits it saves after epochs 1, 2 and 4
(always from the same noise vectors), side by side, titled with the epoch's mean D(x) and
D(G(z)). Run from the repository root with MNIST available (``ATHANOR_DATA_MIRROR``):

    python docs/plots/gan_samples.py
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window

import matplotlib.pyplot as plt
from PIL import Image

IMAGES = Path(__file__).resolve().parents[1] / "images"
OVERRIDES = [
    "data.subset.train=2500",
    "train.epochs=4",
    "train.batch_size=32",
    "train.checkpoint.enabled=false",
]
SHOWN = (1, 2, 4)


def main() -> Path:
    home = Path(tempfile.mkdtemp(prefix="athanor-plot-"))
    os.environ["ATHANOR_HOME"] = str(home)
    import torch

    import athanor as at

    torch.set_num_threads(1)  # the same numbers on any machine, and a quiet neighbour
    run = at.train("dcgan-mnist", OVERRIDES)
    history = run.fit.history
    for epoch, row in enumerate(history, start=1):
        print(epoch, {k: round(v, 3) for k, v in row.items() if k.startswith("train_")})
    grids = sorted(home.rglob("samples/*.png"))
    print([str(g.relative_to(home)) for g in grids])
    figure, axes = plt.subplots(1, len(SHOWN), figsize=(9.6, 3.6))
    for axis, epoch in zip(axes, SHOWN, strict=True):
        grid = next(g for g in grids if g.stem == f"epoch-{epoch:03d}")
        axis.imshow(plt.imread(grid), cmap="gray")
        row = history[epoch - 1]
        axis.set_title(
            f"epoch {epoch}: D(x) {row['train_d_real']:.2f}, D(G(z)) {row['train_d_fake']:.2f}",
            fontsize=9,
        )
        axis.axis("off")
    figure.suptitle(
        "DCGAN on 2,500 MNIST digits: the same 64 noise vectors after each epoch", fontsize=10
    )
    figure.tight_layout()
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / "gan-samples.png"
    figure.savefig(path, dpi=72)
    Image.open(path).convert("L").save(path, optimize=True)  # grey anyway: a third the bytes
    return path


if __name__ == "__main__":
    print(main())
