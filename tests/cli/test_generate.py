"""``athanor generate`` in a real subprocess: text from a char-RNN, images from a GAN.

Printing text and writing a GAN's grid are the e2e story's (tests/e2e); these cover the
other outputs and the refusals.
"""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from athanor.api import models
from athanor.registry import register_package
from athanor.store import open_store
from tests.cli.test_main import athanor


def _register(settings, *names: str) -> None:
    for name in names:
        register_package(open_store(), name, models.package_dir(name, settings=settings))


def test_text_written_to_a_file_is_the_python_apis_for_the_same_seed(
    trained_generators, tmp_path: Path
) -> None:
    _register(trained_generators, "shakes-char")
    output = tmp_path / "out.txt"
    args = ("--prompt", "ROMEO:", "--length", "80", "--seed", "5", "--top-k", "10")
    body = json.loads(athanor("generate", "shakes-char", *args, "-o", str(output), "--json").stdout)
    expected = models.generate(
        "shakes-char", "ROMEO:", length=80, seed=5, top_k=10, settings=trained_generators
    )
    assert output.read_text(encoding="utf-8") == body["text"] == expected.text
    assert (body["seed"], body["tokens"], body["output"]) == (5, 80, str(output))
    refused = athanor("generate", "shakes-char", "--prompt", "naïve", check=False)
    assert refused.returncode == 2 and "'ï'" in refused.stderr and "Traceback" not in refused.stderr


def test_a_gan_writes_one_file_per_image_into_a_folder(trained_generators, tmp_path: Path) -> None:
    _register(trained_generators, "digits-gan")
    folder = tmp_path / "samples"
    files = json.loads(
        athanor("generate", "digits-gan", "--n", "3", "-o", str(folder), "--json").stdout
    )["files"]
    assert sorted(Path(f).name for f in files) == [f"sample-{i:03d}.png" for i in range(3)]
    assert all(Image.open(f).size == (8, 8) for f in files)


def test_predict_on_a_gan_points_to_generate(trained_generators, tmp_path: Path) -> None:
    _register(trained_generators, "digits-gan")
    image = tmp_path / "x.png"
    Image.new("L", (8, 8)).save(image)
    gan = athanor("predict", "digits-gan", str(image), check=False)
    assert gan.returncode == 2 and "athanor generate digits-gan" in gan.stderr
    assert "Traceback" not in gan.stderr
