"""TorchScript export: reloadable without Athanor, equal outputs, a failing layer named."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch

from athanor.data.schema import InputSchema, Schema
from athanor.errors import ExportError
from athanor.registry.export import export_package
from athanor.registry.export.to_torchscript import network_to_torchscript
from athanor.registry.package import load_package
from athanor.serve import Predictor
from athanor.spec.serving import ExportSpec


def test_reloaded_module_gives_the_networks_outputs(
    trained_digits, digits_raw, tmp_path: Path
) -> None:
    run, _ = trained_digits
    package = load_package(run.package_dir)
    result = export_package(package, tmp_path / "m.pt", ExportSpec(format="torchscript"))
    assert result.max_abs_diff is not None and result.max_abs_diff <= 1e-5
    extra = {"athanor.json": ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated upstream
        module = torch.jit.load(str(tmp_path / "m.pt"), _extra_files=extra)
    metadata = json.loads(extra["athanor.json"])
    assert metadata["package_hash"] == package.content_hash
    assert metadata["signature"]["outputs"][0]["name"] == "logits"
    predictor = Predictor.from_package(package)
    x = predictor.preprocessor.transform(digits_raw.x[:25])
    with torch.no_grad():
        assert torch.allclose(module(x), predictor.network(x), atol=1e-5)


def test_a_layer_that_cannot_be_traced_is_named(tmp_path: Path) -> None:
    class Fussy(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise RuntimeError("needs a sequence length that is a power of two")

    network = torch.nn.Sequential(torch.nn.Linear(3, 3), Fussy())
    schema = Schema(task="regression", input=InputSchema(kind="tabular", shape=[3]), targets=3)
    with pytest.raises(ExportError, match=r"layer '1' \(Fussy\): cannot be traced.*power of two"):
        network_to_torchscript(network, schema, tmp_path / "f.pt", ExportSpec())
    assert list(tmp_path.iterdir()) == []
