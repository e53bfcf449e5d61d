"""An anomaly detector's ONNX export carries its threshold and window beside the graph."""

from __future__ import annotations

import json
from pathlib import Path

import onnx

from athanor.registry.export import export_package
from athanor.registry.package import load_package
from athanor.spec.serving import ExportSpec


def test_onnx_metadata_holds_the_threshold_and_the_window(
    trained_nab_detector, tmp_path: Path
) -> None:
    run, _ = trained_nab_detector
    package = load_package(run.package_dir)
    result = export_package(package, tmp_path / "keys.onnx", ExportSpec(format="onnx"))
    assert result.max_abs_diff is not None and result.max_abs_diff <= 1e-4
    props = {
        p.key: json.loads(p.value) for p in onnx.load(str(tmp_path / "keys.onnx")).metadata_props
    }
    assert props["athanor.anomaly"] == package.metadata["anomaly"]
    assert props["athanor.anomaly"]["method"] == "quantile"
    assert props["athanor.window"]["length"] == 32 and props["athanor.window"]["stride"] == 8
