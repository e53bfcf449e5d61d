"""One path through every layer with the real CLI on a slice of real MNIST (well under 60 s)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from PIL import Image

from tests.cli.test_main import athanor


def test_train_register_inspect_and_predict(mirror: Path, mnist_raw, tmp_path: Path) -> None:
    trained = athanor(
        "train",
        "examples/mnist-cnn.yaml",
        "--set",
        "train.epochs=1",
        "--set",
        "data.subset.train=3000",
        "--set",
        "data.subset.test=1000",
        "--register",
        "mnist-cnn",
        "--json",
    )
    result = json.loads(trained.stdout)
    assert result["run"]["status"] == "succeeded"
    assert result["test_metrics"]["test_accuracy"] > 0.8  # one epoch on 3,000 images
    assert result["model"]["ref"] == "mnist-cnn@1"

    runs = json.loads(athanor("runs", "list", "--json").stdout)
    assert [r["id"] for r in runs] == [result["run"]["id"]]
    shown = json.loads(athanor("runs", "show", str(runs[0]["id"]), "--json").stdout)
    assert shown["metrics"]["val_accuracy"][0]["epoch"] == 1
    assert "per epoch" in athanor("runs", "show", str(runs[0]["id"])).stdout

    models = json.loads(athanor("models", "list", "--json").stdout)
    assert [(m["name"], m["latest"]) for m in models] == [("mnist-cnn", 1)]
    model = json.loads(athanor("models", "show", "mnist-cnn@1", "--json").stdout)
    assert model["schema"]["classes"] == [str(d) for d in range(10)]

    images = []
    for index in range(4):
        path = tmp_path / f"digit-{index}.png"
        Image.fromarray(mnist_raw.x_test[index, 0]).save(path)
        images.append(str(path))
    rows = tmp_path / "rows.csv"
    with rows.open("w", newline="") as handle:
        csv.writer(handle).writerows(mnist_raw.x_test[4:6].reshape(2, -1).tolist())
    predicted = json.loads(athanor("predict", "mnist-cnn", *images, str(rows), "--json").stdout)
    labels = [p["label"] for p in predicted["predictions"]]
    assert predicted["model"] == "mnist-cnn@1" and len(labels) == 6
    truth = [str(v) for v in mnist_raw.y_test[:6]]
    assert sum(a == b for a, b in zip(labels, truth, strict=True)) >= 5
    assert np.isclose(sum(predicted["predictions"][0]["probabilities"].values()), 1.0)
    table = athanor("predict", "mnist-cnn@1", images[0]).stdout
    assert "probability" in table and "top 3" in table


def test_quickstart_on_a_slice(mirror: Path) -> None:
    output = athanor(
        "quickstart",
        "--set",
        "train.epochs=1",
        "--set",
        "data.subset.train=2000",
        "--set",
        "data.subset.test=500",
    ).stdout
    for part in ("1/5 data", "2/5 train", "3/5 evaluate", "4/5 register", "5/5 predict"):
        assert part in output
    assert "registered as mnist-cnn@1" in output
    assert output.count("true ") == 5 and output.count("pred ") == 5
    assert "athanor predict mnist-cnn" in output


def test_quickstart_falls_back_to_digits_without_mnist(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ATHANOR_DATA_MIRROR", str(tmp_path / "empty"))
    output = athanor("quickstart", "--set", "train.epochs=2").stdout
    assert "MNIST is not available here" in output and "downloads are disabled" in output
    assert "falling back to scikit-learn's bundled 8x8 digits" in output
    assert "registered as mnist-cnn@1" in output and output.count("pred ") == 5
