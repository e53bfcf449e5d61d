"""Athanor's own zoo: packages published into a zoo folder, loaded by ``init_from: zoo:NAME``
only while they are what was published."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import athanor as at
from athanor.errors import PackageIntegrityError, SpecError, UserError
from athanor.registry.zoo import find_zoo_package, publish_to_zoo, zoo_folders, zoo_packages
from athanor.settings import current_settings

MLP = {"template": "mlp", "hidden": [32]}


def _spec(classes: list[int], **train: object) -> dict:
    return {
        "name": "digits-part",
        "seed": 1,
        "data": {"dataset": "digits", "classes": classes, "split": {"val": 0.1, "test": 0.2}},
        "model": MLP,
        "train": {
            "epochs": 10,
            "batch_size": 64,
            "optimizer": {"type": "adam", "lr": 0.01},
            "checkpoint": {"enabled": False},
            **train,
        },
    }


@pytest.fixture
def zoo(athanor_home: Path) -> Path:
    """A zoo in the home with ``digits-0-4``: an MLP trained on digits 0-4 by the test."""
    source = at.train(_spec([0, 1, 2, 3, 4]), progress=False)
    assert source.package_dir is not None
    folder = athanor_home / "zoo"
    digest = publish_to_zoo(
        source.package_dir, "digits-0-4", folder, {"test_metrics": source.test_metrics}
    )
    index = json.loads((folder / "zoo.json").read_text())["packages"]["digits-0-4"]
    assert index["sha256"] == digest and "test_accuracy" in index["test_metrics"]
    return folder


def test_init_from_loads_the_published_package_and_transfers_to_new_classes(zoo: Path) -> None:
    run = at.train(
        _spec([5, 6, 7, 8, 9], init_from="zoo:digits-0-4", transfer="features"), progress=False
    )
    digest = find_zoo_package("digits-0-4").content_hash
    assert run.run.summary["init_from"] == (
        f"loaded 2 tensors from zoo:digits-0-4 ({digest[:12]}); "
        "new: output.linear.weight, output.linear.bias"
    )
    assert run.run.summary["parameters"]["frozen"] == 64 * 32 + 32  # only the head learns
    assert run.test_metrics["test_accuracy"] > 0.7  # digits 5-9, chance 0.2


def test_an_altered_package_or_index_is_refused(zoo: Path) -> None:
    weights = zoo / "digits-0-4" / "weights.safetensors"
    original = weights.read_bytes()
    weights.write_bytes(original[:-4] + b"\0\0\0\0")
    with pytest.raises(PackageIntegrityError, match="weights.safetensors: content does not match"):
        at.train(_spec([5, 6, 7, 8, 9], init_from="zoo:digits-0-4"), progress=False)
    weights.write_bytes(original)
    index = zoo / "zoo.json"
    data = json.loads(index.read_text())
    data["packages"]["digits-0-4"]["sha256"] = "0" * 64
    index.write_text(json.dumps(data))
    with pytest.raises(PackageIntegrityError, match="does not match the registered 0000"):
        at.train(_spec([5, 6, 7, 8, 9], init_from="zoo:digits-0-4"), progress=False)


def test_unknown_names_list_the_zoo_and_where_it_was_sought(zoo: Path) -> None:
    with pytest.raises(UserError) as caught:
        at.train(_spec([5, 6], init_from="zoo:digits-5-9"), progress=False)
    message = str(caught.value)
    assert "valid: zoo:resnet18, zoo:resnet34, zoo:resnet50, zoo:digits-0-4" in message
    assert str(zoo) in message and "benchmarks/zoo.py" in message


def test_a_mirror_zoo_comes_before_the_home_one(
    zoo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = tmp_path / "mirror"
    package = zoo / "digits-0-4"
    publish_to_zoo(package, "digits-0-4", mirror / "zoo", {"where": "mirror"})
    monkeypatch.setenv("ATHANOR_DATA_MIRROR", str(mirror))
    assert zoo_folders(current_settings()) == [mirror / "zoo", zoo]
    assert zoo_packages()["digits-0-4"].info["where"] == "mirror"


def test_a_transfer_recipe_needs_weights_to_keep() -> None:
    with pytest.raises(SpecError, match="train.transfer: the features recipe keeps trained"):
        at.train(_spec([0, 1], transfer="features"), progress=False)
