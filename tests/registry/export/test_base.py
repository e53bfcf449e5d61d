"""Exports are written whole or not at all; the package formats copy it byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from athanor.errors import ExportError
from athanor.registry.export import EXPORTERS, export_package
from athanor.registry.package import load_package
from athanor.spec.serving import ExportSpec
from tests.registry.test_package import make


def test_package_folder_and_zip_exports(tmp_path: Path) -> None:
    content_hash = make(tmp_path / "p")
    package = load_package(tmp_path / "p")
    folder = export_package(package, tmp_path / "copy", ExportSpec(format="package"))
    assert load_package(folder.path, expected_hash=content_hash).content_hash == content_hash
    archive = export_package(package, tmp_path / "p.zip", ExportSpec(format="zip"))
    assert archive.path.is_file() and archive.content_hash == content_hash
    with pytest.raises(ExportError, match="already exists"):
        export_package(package, tmp_path / "p.zip", ExportSpec(format="zip"))
    export_package(package, tmp_path / "copy", ExportSpec(format="package"), overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy", "p", "p.zip"]
    assert set(EXPORTERS) >= {"package", "zip", "onnx", "torchscript"}


def test_a_failed_export_leaves_no_file(trained_digits, tmp_path: Path) -> None:
    run, _ = trained_digits
    package = load_package(run.package_dir)
    # The graph is written, then its check fails: nothing may remain.
    strict = ExportSpec(format="onnx", tolerance=1e-30)
    with pytest.raises(ExportError, match=r"differ from the network's by up to .*tolerance 1e-30"):
        export_package(package, tmp_path / "out.onnx", strict)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ExportError, match="no such folder"):
        export_package(package, tmp_path / "missing" / "x.zip", ExportSpec(format="zip"))
