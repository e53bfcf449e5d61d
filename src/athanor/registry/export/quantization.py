"""INT8 export: ONNX Runtime's quantization, measured on the test split of the model's data.

A network with convolutions is quantized statically: the ranges of its activations are
calibrated on batches of the training split (preprocessed as in training), and the graph
carries QuantizeLinear/DequantizeLinear pairs that ONNX Runtime fuses into integer kernels.
Dense and recurrent networks are quantized dynamically: their weights are stored as INT8 and
each activation's range is measured per batch while serving (no calibration needed).

The export then runs the FP32 and the INT8 graph over the test split the model was trained
with (rebuilt from the package's spec and checked against its recorded fingerprints), and
refuses the INT8 graph when it loses more than ``max_drop``: accuracy as a fraction for
classifiers (0.01 is one percentage point), the relative RMSE increase for regression (0.01
is 1%). Nothing is written then.
"""

from __future__ import annotations

import json
import logging
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from athanor.data.preprocessing import Preprocessor
from athanor.data.schema import Schema
from athanor.errors import DataError, QuantizationError, QuantizationRefused
from athanor.registry.export.base import ExportResult
from athanor.registry.export.to_onnx import network_to_onnx
from athanor.registry.network import rebuild_network
from athanor.registry.package import ModelPackage
from athanor.registry.signature import INPUT_NAME, export_metadata, output_name
from athanor.settings import Settings
from athanor.spec.run import RunSpec
from athanor.spec.serving import ExportSpec

QUANTIZED_OPS = ("QuantizeLinear", "DynamicQuantizeLinear", "DynamicQuantizeLSTM")
"""Operators that only a quantized graph holds (QLinear* and *Integer kernels too)."""
DYNAMIC_OPS = ["MatMul", "Gemm", "LSTM", "Attention"]
"""What dynamic quantization turns into integer kernels: dense layers and LSTMs."""
STATIC_OPS = ["Conv", "MatMul", "Gemm"]
"""The main operators static quantization turns into INT8 (with pooling and activations)."""
CONVOLUTIONS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
MEASURED_TASKS = ("classification", "regression")
EVALUATION_BATCH = 256
CALIBRATION_BATCH = 64
LATENCY_CALLS = 200


def quantize_to_onnx(
    package: ModelPackage,
    path: Path,
    spec: ExportSpec,
    *,
    settings: Settings | None = None,
) -> ExportResult:
    """Write the package's network as an INT8 ONNX graph at ``path``, measured and checked.

    Args:
        package: a verified package of a classifier or a regressor.
        path: the file to write (only once the INT8 graph passed the quality bound).
        spec: opset, ``max_drop`` and ``calibration`` (training samples, static only).
        settings: where the model's dataset is found (default: the environment).

    Returns:
        The result; ``details["quantization"]`` holds the method, the FP32 and INT8 scores
        on the test split and their change, and the size and latency ratios.

    Raises:
        QuantizationError: a task that is not measured, a dataset version no longer
            present or changed since training, or a network without quantizable layers.
        QuantizationRefused: the INT8 graph loses more than ``spec.max_drop``.
    """
    import onnx

    network, schema = rebuild_network(package)
    if schema.task not in MEASURED_TASKS:
        raise QuantizationError(
            f"an INT8 export is measured on classifiers and regressors only; this model's "
            f"task is {schema.task}"
        )
    if package.graph_path is not None:
        raise QuantizationError(
            f"{package.path}: this version is already quantized; export the version it was "
            f"quantized from ({package.metadata.get('lineage', {}).get('quantized_from')})"
        )
    prepared = prepare_measurement_data(package, settings)
    method = "static" if any(isinstance(m, CONVOLUTIONS) for m in network.modules()) else "dynamic"
    metadata = export_metadata(package.metadata, package.content_hash)
    with tempfile.TemporaryDirectory(prefix=".int8-", dir=path.parent) as scratch:
        fp32 = Path(scratch) / "fp32.onnx"
        checked = network_to_onnx(
            network,
            schema,
            fp32,
            ExportSpec(
                format="onnx",
                opset=spec.opset,
                tolerance=spec.tolerance,
                check_samples=spec.check_samples,
            ),
            metadata=metadata,
        )
        int8 = Path(scratch) / "int8.onnx"
        if method == "static":
            calibrated = _quantize_static(fp32, int8, prepared, spec.calibration, scratch)
        else:
            calibrated = 0
            _quantize_dynamic(fp32, int8)
        model = onnx.load(str(int8))
        quantized = sorted({node.op_type for node in model.graph.node if _is_quantized(node)})
        if not quantized:
            layers = sorted({node.op_type for node in model.graph.node})
            raise QuantizationError(
                f"no layer of this network can be quantized ({method} quantization turns "
                f"{', '.join(STATIC_OPS if method == 'static' else DYNAMIC_OPS)} into INT8; "
                f"the graph holds {', '.join(layers)})"
            )
        report = measure(fp32, int8, prepared, schema)
        report.update(
            {
                "method": method,
                "format": "QDQ" if method == "static" else "integer operators",
                "calibration_samples": calibrated,
                "quantized_operators": quantized,
                "max_drop": spec.max_drop,
                "dataset": prepared.record.get("version") or prepared.record.get("dataset"),
            }
        )
        if report["change"] > spec.max_drop:
            raise QuantizationRefused(
                f"the INT8 model loses {describe_change(report)} on the {report['test_samples']} "
                f"test samples ({report['metric']} {report['fp32']:.4g} -> {report['int8']:.4g}), "
                f"more than --max-drop {spec.max_drop:g} allows; nothing was written",
                params={"change": report["change"], "max_drop": spec.max_drop},
            )
        onnx.helper.set_model_props(
            model,
            {
                **{f"athanor.{key}": json.dumps(value) for key, value in metadata.items()},
                "athanor.quantization": json.dumps(report),
            },
        )
        model.producer_name = "athanor"
        onnx.save(model, str(int8))
        report["int8_bytes"] = int8.stat().st_size
        report["size_ratio"] = round(report["int8_bytes"] / report["fp32_bytes"], 4)
        shutil.move(int8, path)
    return ExportResult(
        "onnx",
        path,
        content_hash=package.content_hash,
        max_abs_diff=None,
        checked_samples=report["test_samples"],
        details={
            "opset": spec.opset,
            "input": INPUT_NAME,
            "output": output_name(schema),
            "onnxruntime": checked.details["onnxruntime"],
            "bytes": path.stat().st_size,
            "quantization": report,
        },
    )


def describe_change(report: dict[str, Any]) -> str:
    """``0.8 accuracy points`` or ``3.1% of its RMSE``: the change ``max_drop`` bounds."""
    if report["metric"] == "accuracy":
        return f"{report['change'] * 100:.2f} accuracy points"
    return f"{report['change'] * 100:.2f}% of its RMSE"


def prepare_measurement_data(package: ModelPackage, settings: Settings | None) -> Any:
    """The model's dataset prepared as in training: its test split and training split.

    Raises:
        QuantizationError: the dataset (version) is no longer present, has no test split,
            or splits differently than when the model was trained.
    """
    from athanor.data.prepare import prepare

    spec = RunSpec.model_validate(package.metadata["spec"])
    lineage = package.metadata.get("lineage") or {}
    recorded = lineage.get("version")
    data = spec.data
    if isinstance(recorded, str) and "@" in recorded:  # an imported version, as trained on
        data = data.model_copy(update={"dataset": recorded})
    named = recorded if isinstance(recorded, str) else data.dataset
    try:
        prepared = prepare(data, spec.seed, settings=settings)
    except DataError as exc:
        raise QuantizationError(
            f"dataset {named}, which the model was trained on, cannot be loaded to measure "
            f"the INT8 model ({exc})",
            field="dataset",
        ) from None
    if prepared.test is None or len(prepared.test) == 0:
        raise QuantizationError(
            f"dataset {named} has no test split to measure the INT8 model on; train with "
            "data.split.test above 0"
        )
    fingerprints = (lineage.get("split") or {}).get("fingerprints")
    now = (prepared.record.get("split") or {}).get("fingerprints")
    if fingerprints and now != fingerprints:
        raise QuantizationError(
            f"dataset {named} splits differently than when the model was trained (its data "
            "changed), so its test split cannot measure the INT8 model"
        )
    return prepared


class CalibrationBatches:
    """ONNX Runtime's ``CalibrationDataReader`` over the preprocessed training split.

    Yields up to ``samples`` training inputs in shuffled batches (a fixed seed), without
    augmentation: the ranges are those of the inputs the model sees when serving.
    """

    def __init__(self, prepared: Any, samples: int) -> None:
        self.samples = min(samples, prepared.size("train"))
        self.seen = 0
        self._batches = self._iterate(prepared)

    def _iterate(self, prepared: Any) -> Iterator[np.ndarray]:
        from athanor.data.batching import TensorBatches, TensorSplit

        train = prepared.train
        if isinstance(train, TensorSplit):
            source: Any = TensorBatches(train, CALIBRATION_BATCH, shuffle=True, seed=0)
        else:
            source = prepared.batches("train", CALIBRATION_BATCH, shuffle=True, seed=0)
        for x, _y in source:
            left = self.samples - self.seen
            if left <= 0:
                return
            batch = x[:left].float().cpu().numpy()
            self.seen += len(batch)
            yield batch

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self._batches, None)
        return None if batch is None else {INPUT_NAME: batch}


def _quantize_static(fp32: Path, int8: Path, prepared: Any, samples: int, scratch: str) -> int:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = CalibrationBatches(prepared, samples)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return self.batches.get_next()

    source = Path(scratch) / "prepared.onnx"
    try:  # shape inference and folding, as ONNX Runtime recommends before quantizing
        quant_pre_process(str(fp32), str(source))
    except Exception:  # an optimisation only: the plain graph quantizes too
        source = fp32
    reader = Reader()
    try:
        with _quiet():
            quantize_static(
                str(source),
                str(int8),
                reader,
                quant_format=QuantFormat.QDQ,
                per_channel=True,
            )
    except Exception as exc:  # ONNX Runtime names the node (with the layer's path)
        raise QuantizationError(f"static INT8 quantization failed: {_first_line(exc)}") from None
    return reader.batches.seen


def _quantize_dynamic(fp32: Path, int8: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    try:
        with _quiet():
            quantize_dynamic(
                str(fp32), str(int8), weight_type=QuantType.QInt8, op_types_to_quantize=DYNAMIC_OPS
            )
    except Exception as exc:  # ONNX Runtime names the node (with the layer's path)
        raise QuantizationError(f"dynamic INT8 quantization failed: {_first_line(exc)}") from None


def _is_quantized(node: Any) -> bool:
    kind = node.op_type
    return kind in QUANTIZED_OPS or kind.startswith("QLinear") or kind.endswith("Integer")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:300]


class _quiet:
    """Keep ONNX Runtime's quantization advice (root-logger warnings) off the terminal."""

    def __enter__(self) -> None:
        self.level = logging.root.level
        logging.root.setLevel(logging.ERROR)

    def __exit__(self, *_exc: object) -> None:
        logging.root.setLevel(self.level)


def _session(path: Path) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # comparable latencies, and the cores left alone
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def measure(fp32: Path, int8: Path, prepared: Any, schema: Schema) -> dict[str, Any]:
    """Scores of both graphs on the test split, their change, and size and latency ratios.

    Classifiers: ``metric`` is accuracy and ``change`` the accuracy lost (a fraction).
    Regression: ``metric`` is RMSE (in the target's units) and ``change`` its relative
    increase; MAE is reported beside it.
    """
    sessions = {"fp32": _session(fp32), "int8": _session(int8)}
    outputs: dict[str, list[np.ndarray]] = {"fp32": [], "int8": []}
    targets: list[torch.Tensor] = []
    for x, y in prepared.batches("test", EVALUATION_BATCH):
        feed = {INPUT_NAME: x.cpu().numpy()}
        for key, session in sessions.items():
            outputs[key].append(session.run(None, feed)[0])
        targets.append(y.cpu())
    y = torch.cat(targets)
    scores = {
        key: _scores(np.concatenate(value), y, schema, prepared.preprocessor)
        for key, value in outputs.items()
    }
    metric = "accuracy" if schema.task == "classification" else "rmse"
    fp32_value, int8_value = scores["fp32"][metric], scores["int8"][metric]
    if metric == "accuracy":
        change = fp32_value - int8_value
    else:
        change = int8_value / fp32_value - 1 if fp32_value > 0 else int8_value
    report: dict[str, Any] = {
        "metric": metric,
        "fp32": fp32_value,
        "int8": int8_value,
        "change": change,
        "test_samples": len(y),
        "fp32_bytes": fp32.stat().st_size,
    }
    if metric == "rmse":
        report["fp32_mae"], report["int8_mae"] = scores["fp32"]["mae"], scores["int8"]["mae"]
    sample = next(iter(prepared.batches("test", 1)))[0].cpu().numpy()
    latency = single_batch_latency(sessions, sample)
    report.update(
        fp32_latency_ms=latency["fp32"] * 1e3,
        int8_latency_ms=latency["int8"] * 1e3,
        latency_ratio=round(latency["int8"] / latency["fp32"], 4),
    )
    return report


def _scores(
    outputs: np.ndarray, y: torch.Tensor, schema: Schema, preprocessor: Preprocessor
) -> dict[str, float]:
    if schema.task == "classification":
        if schema.single_logit:
            predicted = (outputs.reshape(-1) > 0).astype(np.int64)
        else:
            predicted = outputs.argmax(axis=1)
        return {"accuracy": float((predicted == y.reshape(-1).numpy()).mean())}
    values = torch.from_numpy(outputs.astype(np.float32)).reshape(y.shape)
    if preprocessor.target_steps:  # both in the target's own units
        values, y = preprocessor.inverse_target(values), preprocessor.inverse_target(y.float())
    error = (values - y.float()).double()
    return {
        "rmse": float(error.pow(2).mean().sqrt()),
        "mae": float(error.abs().mean()),
    }


def single_batch_latency(sessions: dict[str, Any], sample: np.ndarray) -> dict[str, float]:
    """Median seconds of one call on a one-sample batch, per session, calls interleaved so
    that a busy machine slows both alike."""
    feed = {INPUT_NAME: sample}
    timings: dict[str, list[float]] = {key: [] for key in sessions}
    for session in sessions.values():
        for _ in range(10):  # first calls allocate
            session.run(None, feed)
    for _ in range(LATENCY_CALLS):
        for key, session in sessions.items():
            started = time.perf_counter()
            session.run(None, feed)
            timings[key].append(time.perf_counter() - started)
    return {key: statistics.median(values) for key, values in timings.items()}
