"""Model packages: safetensors + JSON, verified file by file on load."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from athanor.errors import PackageIntegrityError
from athanor.registry.package import load_package, package_hash, write_package


def make(folder: Path) -> str:
    folder.mkdir(parents=True)
    return write_package(
        folder,
        state_dict={"w": torch.arange(6.0).view(2, 3), "b": torch.zeros(2)},
        spec={"name": "x"},
        schema={"task": "regression"},
        preprocessing=[{"type": "to_float", "scale": 1.0}],
        metrics={"val_loss": 0.5},
        lineage={"run_id": 1},
        card="# x\n",
    )


def test_round_trip_without_pickle(tmp_path: Path) -> None:
    content_hash = make(tmp_path / "p")
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == [
        "README.md",
        "manifest.json",
        "model.json",
        "weights.safetensors",
    ]
    package = load_package(tmp_path / "p", expected_hash=content_hash)
    assert torch.equal(package.state_dict["w"], torch.arange(6.0).view(2, 3))
    assert package.metadata["metrics"] == {"val_loss": 0.5}
    assert package.metadata["parameters"] == 8
    assert package.metadata["lineage"]["torch"] == torch.__version__
    assert package_hash(tmp_path / "p") == content_hash


def test_altered_weights_are_refused_naming_the_file(tmp_path: Path) -> None:
    make(tmp_path / "p")
    weights = tmp_path / "p" / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(PackageIntegrityError, match="weights.safetensors: content does not match"):
        load_package(tmp_path / "p")


def test_rewritten_manifest_is_caught_by_the_registered_hash(tmp_path: Path) -> None:
    content_hash = make(tmp_path / "p")
    metadata = tmp_path / "p" / "model.json"
    data = json.loads(metadata.read_text())
    data["metrics"]["val_loss"] = 0.0  # a "better" model
    metadata.write_text(json.dumps(data))
    manifest = tmp_path / "p" / "manifest.json"
    files = json.loads(manifest.read_text())
    import hashlib

    files["files"]["model.json"] = hashlib.sha256(metadata.read_bytes()).hexdigest()
    manifest.write_text(json.dumps(files))
    load_package(tmp_path / "p")  # consistent with itself...
    with pytest.raises(PackageIntegrityError, match="does not match the registered"):
        load_package(tmp_path / "p", expected_hash=content_hash)  # ...but not what was registered


def test_missing_files(tmp_path: Path) -> None:
    make(tmp_path / "p")
    shutil.copytree(tmp_path / "p", tmp_path / "q")
    (tmp_path / "q" / "README.md").unlink()
    with pytest.raises(PackageIntegrityError, match="README.md: missing"):
        load_package(tmp_path / "q")
    with pytest.raises(PackageIntegrityError, match="not a model package"):
        load_package(tmp_path)
