"""The generation story as a new user lives it, with the real CLI in subprocesses: train a
tiny char-RNN on Tiny Shakespeare (from the mirror), register it and generate text from a
prompt; train a tiny DCGAN on MNIST, find its sample grids and generate a grid of digits."""

from __future__ import annotations

import json
import re
from pathlib import Path

from PIL import Image

from tests.cli.test_main import athanor


def test_a_char_rnn_continues_a_prompt(mirror: Path, tmp_path: Path) -> None:
    trained = athanor(
        "train",
        "examples/charrnn-shakespeare.yaml",
        *("--set", "train.epochs=1", "--set", "data.subset.train=300"),
        *("--set", "data.subset.val=20", "--set", "data.subset.test=20"),
        *("--set", "model.units=32", "--set", "model.layers=1"),
        *("--register", "shakes"),
    )
    assert "registered as shakes@1" in trained.stdout
    # The text sample printed after the epoch holds text only, never the vocabulary's markers.
    shown = trained.stdout + trained.stderr
    assert "sample after epoch 1" in shown and "<pad>" not in shown and "<unk>" not in shown

    generated = athanor(
        "generate", "shakes", "--prompt", "ROMEO:", "--length", "200", "--seed", "7"
    )
    text = generated.stdout.removesuffix("\n")
    assert text.startswith("ROMEO:") and len(text) == len("ROMEO:") + 200
    assert "<pad>" not in text and "<unk>" not in text
    assert "shakes@1, seed 7" in generated.stderr

    prompt = tmp_path / "prompt.txt"
    prompt.write_text("To be", encoding="utf-8")
    predicted = athanor("predict", "shakes", str(prompt), check=False)
    assert predicted.returncode == 2 and "athanor generate shakes" in predicted.stderr


def test_a_dcgan_shows_its_samples_and_generates_a_grid(mirror: Path, tmp_path: Path) -> None:
    trained = athanor(
        "train",
        "examples/dcgan-mnist.yaml",
        *("--set", "train.epochs=1", "--set", "data.subset.train=256"),
        *("--set", "data.subset.val=64", "--set", "data.subset.test=64"),
        *("--set", "model.generator_width=8", "--set", "model.discriminator_width=8"),
        *("--register", "dcgan"),
    )
    found = re.search(
        r"sample grids: (\S+) \(1 file\(s\), latest (epoch-001\.png)\)", trained.stdout
    )
    assert found, trained.stdout
    assert Image.open(Path(found.group(1)) / found.group(2)).size[0] > 28 * 8

    grid = tmp_path / "digits.png"
    made = json.loads(
        athanor("generate", "dcgan", "--n", "16", "--seed", "1", "-o", str(grid), "--json").stdout
    )
    assert made == {"model": "dcgan@1", "count": 16, "seed": 1, "files": [str(grid)]}
    assert Image.open(grid).size == (4 * 30 + 2, 4 * 30 + 2)  # 4x4 digits of 28 px, 2 px gaps
