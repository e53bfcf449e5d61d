"""A package whose model runs as an INT8 ONNX graph, registered beside the FP32 version.

The package keeps the FP32 version's weights, spec, schema and preprocessing (so its inputs,
classes and network summary stay known) and adds ``model.onnx``, the quantized graph that
predicts. ``model.json`` names the graph (``graph``), keeps the measured change
(``quantization``) and where it came from (``lineage.quantized_from``); its test metric is
the INT8 graph's. The model card says the same in a section of its own.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from athanor.registry.package import (
    CARD,
    GRAPH,
    METADATA,
    WEIGHTS,
    ModelPackage,
    write_manifest,
)


def write_quantized_package(
    source: ModelPackage, graph: Path, report: dict[str, Any], folder: Path, *, ref: str
) -> str:
    """Write the INT8 variant of ``source`` into the empty ``folder``.

    Args:
        source: the FP32 package the graph was quantized from.
        graph: the INT8 ONNX file (from ``quantize_to_onnx``).
        report: the measurement (``ExportResult.details["quantization"]``).
        folder: an empty folder.
        ref: the registered version ``source`` is (recorded in the lineage).

    Returns:
        The new package's content hash.
    """
    shutil.copy2(source.path / WEIGHTS, folder / WEIGHTS)
    shutil.copy2(graph, folder / GRAPH)
    metadata = json.loads(json.dumps(source.metadata))
    metadata["graph"] = GRAPH
    metadata["quantization"] = {"precision": "int8", **report}
    metadata["metrics"] = quantized_metrics(source.metadata.get("metrics") or {}, report)
    metadata["lineage"]["quantized_from"] = {"ref": ref, "package_hash": source.content_hash}
    (folder / METADATA).write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    card = (source.path / CARD).read_text()
    (folder / CARD).write_text(card.rstrip("\n") + "\n\n" + quantization_card(report, ref))
    return write_manifest(folder)


def quantized_metrics(metrics: dict[str, Any], report: dict[str, Any]) -> dict[str, Any]:
    """The FP32 version's metrics with the test scores the INT8 graph measured instead (the
    test loss, which was not measured again, is left out)."""
    updated = {name: value for name, value in metrics.items() if name != "test_loss"}
    updated[f"test_{report['metric']}"] = report["int8"]
    if "int8_mae" in report:
        updated["test_mae"] = report["int8_mae"]
    return updated


def quantization_card(report: dict[str, Any], ref: str) -> str:
    """The model card's section on the INT8 graph: method, calibration, measured change."""
    metric = report["metric"]
    if metric == "accuracy":
        change = f"{-report['change'] * 100:+.2f} accuracy points"
    else:
        change = f"{report['change'] * 100:+.2f}% RMSE"
    calibration = (
        f"static (QDQ), calibrated on {report['calibration_samples']} training samples"
        if report["method"] == "static"
        else "dynamic (INT8 weights, activation ranges measured per batch)"
    )
    return "\n".join(
        [
            "## Quantization",
            "",
            f"INT8 ONNX graph quantized from {ref} with ONNX Runtime; it runs on the "
            "onnxruntime runtime.",
            "",
            f"- method: {calibration}",
            f"- quantized operators: {', '.join(report['quantized_operators'])}",
            f"- test {metric} ({report['test_samples']} samples): FP32 {report['fp32']:.4f}, "
            f"INT8 {report['int8']:.4f} ({change}; bound {report['max_drop']:g})",
            f"- size: {report['size_ratio']:.2f}x of the FP32 graph "
            f"({report['int8_bytes']:,} of {report['fp32_bytes']:,} bytes)",
            f"- single-sample latency: {report['latency_ratio']:.2f}x of the FP32 graph "
            f"(one thread, on the machine that quantized it)",
            "",
        ]
    )
