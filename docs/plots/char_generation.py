"""Draw a character-level RNN and LSTM learning Shakespeare into docs/images/char-generation.png.

``examples/charrnn-shakespeare`` trained by Athanor on 2,000 sequences of 128 characters of
Tiny Shakespeare (one recurrent layer of 128 units, Adam at a constant 0.005, 4 epochs),
once with a plain RNN cell and once with an LSTM. Left: validation loss per epoch (nats per
character; ln 65 = 4.17 is a uniform guess over the 65 characters). Right: text the LSTM
generates after "ROMEO:" at three temperatures, seed 1, as ``athanor generate`` would. Run
from the repository root with Tiny Shakespeare available (``ATHANOR_DATA_MIRROR``), in about
three minutes on one CPU core:

    python docs/plots/char_generation.py
"""

from __future__ import annotations

import math
import os
import tempfile
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window

import matplotlib.pyplot as plt

IMAGES = Path(__file__).resolve().parents[1] / "images"
COMMON = [
    "model.units=128",
    "model.layers=1",
    "data.subset.train=2000",
    "data.subset.val=200",
    "data.subset.test=200",
    "train.epochs=4",
    "train.optimizer.lr=0.005",
    "train.schedule={type: constant}",
    "train.checkpoint.enabled=false",
]
TEMPERATURES = (0.2, 0.8, 1.5)
PROMPT = "ROMEO:"


def main() -> Path:
    os.environ["ATHANOR_HOME"] = tempfile.mkdtemp(prefix="athanor-plot-")
    import torch

    import athanor as at

    torch.set_num_threads(1)  # the same numbers on any machine, and a quiet neighbour
    runs = {
        cell: at.train("charrnn-shakespeare", [*COMMON, f"model.cell={cell}"])
        for cell in ("rnn", "lstm")
    }
    figure, (left, right) = plt.subplots(
        1, 2, figsize=(11.0, 4.2), gridspec_kw={"width_ratios": [1, 1.6]}
    )
    for cell, run in runs.items():
        rows = run.fit.history
        left.plot(
            range(1, len(rows) + 1), [r["val_loss"] for r in rows], marker="o", label=cell.upper()
        )
        print(
            cell,
            [round(r["val_loss"], 3) for r in rows],
            [round(r["val_accuracy"], 3) for r in rows],
        )
        print("  test", {k: round(v, 3) for k, v in run.test_metrics.items()})
    left.axhline(math.log(65), color="0.5", linestyle="--", linewidth=0.8, label="uniform guess")
    left.set_xlabel("epoch")
    left.set_xticks(range(1, 5))
    left.set_ylabel("validation loss (nats per character)")
    left.set_title("RNN and LSTM, 128 units, 2,000 sequences", fontsize=9)
    left.legend(fontsize=8)
    predictor = runs["lstm"].predictor()
    blocks = []
    for temperature in TEMPERATURES:
        text = predictor.generate(PROMPT, length=160, temperature=temperature, seed=1).text
        print(f"--- temperature {temperature}\n{text}")
        lines = [part for line in text.splitlines() for part in textwrap.wrap(line, 72) or [""]]
        blocks.append(f"temperature {temperature}:\n" + "\n".join(lines[:6]))
    right.axis("off")
    right.text(0.0, 1.0, "\n\n".join(blocks), family="monospace", fontsize=8, va="top")
    right.set_title('LSTM after "ROMEO:" (seed 1)', fontsize=9)
    figure.tight_layout()
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / "char-generation.png"
    figure.savefig(path, dpi=72)
    return path


if __name__ == "__main__":
    print(main())
