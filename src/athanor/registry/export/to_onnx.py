"""ONNX export: a graph with a dynamic batch axis, checked against onnxruntime."""

from __future__ import annotations

import json
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from athanor.data.schema import Schema
from athanor.errors import ExportError
from athanor.registry.export.base import ExportResult, register_exporter
from athanor.registry.export.layers import (
    describe_layer,
    failing_layer,
    locate_operator,
    operator_in,
    reference_outputs,
)
from athanor.registry.network import rebuild_network, sample_inputs
from athanor.registry.package import ModelPackage
from athanor.registry.signature import INPUT_NAME, export_metadata, output_name
from athanor.spec.serving import ExportSpec

TRACE_BATCH = 2  # the check uses another batch size, so a batch size baked in is caught


@register_exporter(
    "onnx", suffix=".onnx", description="ONNX graph (opset 17-20), dynamic batch axis"
)
def export_onnx(package: ModelPackage, path: Path, spec: ExportSpec) -> ExportResult:
    """Export the package's network as ONNX and compare it with onnxruntime on samples.

    The graph takes the preprocessed input (``input``, batch first) and gives ``logits``
    (classifiers) or ``output``; the preprocessing steps, schema and class names are stored
    in the model's metadata properties as JSON.

    Raises:
        ExportError: an operation without an ONNX form (naming the layer), or outputs
            further from the network's than ``spec.tolerance``.
    """
    network, schema = rebuild_network(package)
    metadata = export_metadata(package.metadata, package.content_hash)
    result = network_to_onnx(network, schema, path, spec, metadata=metadata)
    result.content_hash = package.content_hash
    return result


def network_to_onnx(
    network: torch.nn.Module,
    schema: Schema,
    path: Path,
    spec: ExportSpec,
    *,
    metadata: dict[str, Any] | None = None,
) -> ExportResult:
    """Export any network taking inputs of ``schema`` to the ONNX file ``path`` and check it.

    Args:
        network: the module (put in eval mode here).
        schema: its data schema (input shape and kind, task).
        path: the file to write.
        spec: opset, tolerance and number of check samples.
        metadata: JSON-serialisable facts stored as ``athanor.<key>`` metadata properties.

    Returns:
        The result, with the largest absolute difference from the network's outputs.

    Raises:
        ExportError: an operation without an ONNX form (naming the layer), or outputs
            further from the network's than ``spec.tolerance``.
    """
    import onnx
    import onnxruntime

    network = network.eval()
    example = sample_inputs(schema, TRACE_BATCH, seed=0, network=network)
    output = output_name(schema)
    try:
        with torch.no_grad(), warnings.catch_warnings(), _exporter_log_silenced():
            # The TorchScript-based exporter is deprecated in favour of torch.export, which
            # needs onnxscript; it is the one that handles every layer we build today.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                network,
                (example,),
                str(path),
                dynamo=False,
                opset_version=spec.opset,
                input_names=[INPUT_NAME],
                output_names=[output],
                dynamic_axes={INPUT_NAME: {0: "batch"}, output: {0: "batch"}},
                do_constant_folding=True,
            )
    except Exception as exc:  # any exporter failure is reported with its layer
        raise ExportError(_failure_message(network, example, exc, spec.opset)) from None

    model = onnx.load(str(path))
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        raise ExportError(f"the exported ONNX graph is invalid: {exc}") from None
    if metadata:
        onnx.helper.set_model_props(
            model, {f"athanor.{key}": json.dumps(value) for key, value in metadata.items()}
        )
    model.producer_name = "athanor"
    onnx.save(model, str(path))

    check = sample_inputs(schema, spec.check_samples, seed=1, network=network)
    expected = reference_outputs(network, check).numpy()
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # a check on a few samples; leave the cores alone
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    (actual,) = session.run([output], {INPUT_NAME: check.numpy()})
    difference = float(np.max(np.abs(actual.astype(np.float32) - expected)))
    if not difference <= spec.tolerance:
        raise ExportError(
            f"the ONNX model's outputs differ from the network's by up to {difference:.3g} "
            f"on {spec.check_samples} samples (tolerance {spec.tolerance:g})"
        )
    return ExportResult(
        "onnx",
        path,
        content_hash="",
        max_abs_diff=difference,
        checked_samples=spec.check_samples,
        details={
            "opset": spec.opset,
            "input": INPUT_NAME,
            "output": output,
            "onnxruntime": onnxruntime.__version__,
            "bytes": path.stat().st_size,
        },
    )


@contextmanager
def _exporter_log_silenced() -> Iterator[None]:
    """Keep the exporter's native dump of the whole graph off the terminal.

    On a failure the TorchScript-based exporter prints the graph from C++ (its logging
    switch is always on), which would bury the message naming the layer and corrupt
    ``--json`` output. The log is sent to standard error, which is pointed at the null
    device for the duration of the export.
    """
    set_stream = getattr(torch._C, "_jit_set_onnx_log_output_stream", None)
    if set_stream is not None:
        set_stream("stderr")
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield  # no file descriptor 2 to redirect (an embedded interpreter)
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def _failure_message(
    network: torch.nn.Module, example: torch.Tensor, exc: Exception, opset: int
) -> str:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    operator = operator_in(str(exc))
    if operator is not None:
        layer = describe_layer(network, locate_operator(network, example, operator))
        return (
            f"{layer}: the operation {operator} has no ONNX form at opset {opset} ({reason}); "
            "try a higher --opset (up to 20), replace the layer, or export to torchscript"
        )

    def trace() -> None:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.jit.trace(network, (example,), check_trace=False)

    layer = describe_layer(network, failing_layer(network, trace))
    return f"{layer}: cannot be exported to ONNX: {reason}"
