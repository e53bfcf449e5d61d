"""A user labels digits with the real CLI in subprocesses: imports unlabeled MNIST PNGs,
labels some (a CSV), trains from the labels, confirms the most doubtful pre-labels, accepts
the sure ones, publishes a version and trains on it like on any dataset."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_main import athanor
from tests.label.conftest import write_mnist_pngs


def _json(*args: str) -> dict:
    return json.loads(athanor(*args, "--json").stdout)


def test_label_train_prelabel_confirm_publish_and_train(tmp_path: Path) -> None:
    truth = write_mnist_pngs(tmp_path / "inbox", 300)
    imported = _json("data", "import", str(tmp_path / "inbox"), "--name", "inbox")
    assert imported["rows"] == 300 and imported["info"]["unlabeled"] == 300
    digits = ",".join(str(d) for d in range(10))
    created = _json("label", "create", "handwriting", "--dataset", "inbox", "--labels", digits)
    assert created["counts"]["unlabeled"] == 300
    rows = "".join(f"{i:05d}.png,{truth[i]}\n" for i in range(150))
    (tmp_path / "first.csv").write_text("file,label\n" + rows)
    assert _json("label", "import", "handwriting", str(tmp_path / "first.csv"))["imported"] == 150

    trained = _json("label", "train", "handwriting", "--epochs", "2")
    assert trained["status"] == "succeeded" and trained["model"] == "handwriting-labels@1"
    assert trained["dataset"] == "handwriting@1" and trained["prelabeled"] == 150

    doubtful = _json(
        "label",
        "items",
        "handwriting",
        "--state",
        "prelabeled",
        "--sort",
        "uncertainty",
        "--limit",
        "20",
    )["items"]
    confidences = [item["prediction"]["confidence"] for item in doubtful]
    assert confidences == sorted(confidences)  # the least sure first
    fixed = _json("label", "set", "handwriting", *[f"{i['id']}={truth[i['id']]}" for i in doubtful])
    assert fixed["counts"]["labeled"] == 170
    accepted = _json("label", "accept", "handwriting", "--min-confidence", "0.5")
    assert accepted["updated"] > 0
    published = _json("label", "publish", "handwriting")
    assert (
        published["dataset"] == "handwriting@2" and published["from_model"] == accepted["updated"]
    )
    status = athanor("label", "status", "handwriting").stdout
    assert "training: job" in status and "prelabeled" in status and "handwriting@2" in status

    spec = tmp_path / "digits.yaml"
    spec.write_text(
        "name: digits-final\ndata: {dataset: handwriting@2, split: {val: 0.1, test: 0.1}}\n"
        "model: {template: lenet5}\ntrain: {epochs: 1, batch_size: 32}\n"
    )
    final = _json("train", str(spec))
    assert final["run"]["status"] == "succeeded"
    sizes = final["run"]["summary"]["data"]["split"]["sizes"]
    assert sum(sizes.values()) == published["labels"]  # the labeled items, and only those
