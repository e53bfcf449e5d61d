"""TorchScript export: a traced module runnable from C++ (libtorch) or Python without Athanor."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import torch

from athanor.data.schema import Schema
from athanor.errors import ExportError
from athanor.registry.export.base import ExportResult, register_exporter
from athanor.registry.export.layers import describe_layer, failing_layer, reference_outputs
from athanor.registry.network import rebuild_network, sample_inputs
from athanor.registry.package import ModelPackage
from athanor.registry.signature import export_metadata
from athanor.spec.serving import ExportSpec

TRACE_BATCH = 2
METADATA_FILE = "athanor.json"


@register_exporter("torchscript", suffix=".pt", description="TorchScript module (traced)")
def export_torchscript(package: ModelPackage, path: Path, spec: ExportSpec) -> ExportResult:
    """Trace the package's network, save it with its metadata, reload it and compare.

    The module takes the preprocessed input (batch first); ``athanor.json`` among its extra
    files holds the signature, preprocessing steps, schema and class names.

    Raises:
        ExportError: the network cannot be traced (naming the layer), or the reloaded module's
            outputs are further from the network's than ``spec.tolerance``.
    """
    network, schema = rebuild_network(package)
    metadata = export_metadata(package.metadata, package.content_hash)
    result = network_to_torchscript(network, schema, path, spec, metadata=metadata)
    result.content_hash = package.content_hash
    return result


def network_to_torchscript(
    network: torch.nn.Module,
    schema: Schema,
    path: Path,
    spec: ExportSpec,
    *,
    metadata: dict[str, Any] | None = None,
) -> ExportResult:
    """Trace any network taking inputs of ``schema`` into the TorchScript file ``path``.

    Args:
        network: the module (put in eval mode here).
        schema: its data schema (input shape and kind).
        path: the file to write.
        spec: tolerance and number of check samples.
        metadata: JSON-serialisable facts saved as the extra file ``athanor.json``.

    Returns:
        The result, with the largest absolute difference between the reloaded module's
        outputs and the network's, on a batch size other than the traced one.

    Raises:
        ExportError: the network cannot be traced (naming the layer), or the outputs differ
            by more than ``spec.tolerance``.
    """
    network = network.eval()
    example = sample_inputs(schema, TRACE_BATCH, seed=0, network=network)

    def trace() -> torch.jit.ScriptModule:
        with torch.no_grad(), warnings.catch_warnings():
            # torch.jit is deprecated in favour of torch.export but remains the format that
            # libtorch and most serving stacks load.
            warnings.simplefilter("ignore")
            return torch.jit.trace(network, (example,), check_trace=False)

    try:
        traced = trace()
    except Exception as exc:  # reported with the layer that failed
        layer = describe_layer(network, failing_layer(network, trace))
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExportError(f"{layer}: cannot be traced to TorchScript: {reason}") from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(traced, str(path), _extra_files={METADATA_FILE: json.dumps(metadata or {})})
        loaded = torch.jit.load(str(path), map_location="cpu")
    check = sample_inputs(schema, spec.check_samples, seed=1, network=network)
    expected = reference_outputs(network, check)
    with torch.no_grad():
        difference = float((loaded(check).float() - expected).abs().max())
    if not difference <= spec.tolerance:
        raise ExportError(
            f"the TorchScript module's outputs differ from the network's by up to "
            f"{difference:.3g} on {spec.check_samples} samples (tolerance {spec.tolerance:g}); "
            "a layer may take a path that depends on the data, which tracing cannot record"
        )
    return ExportResult(
        "torchscript",
        path,
        content_hash="",
        max_abs_diff=difference,
        checked_samples=spec.check_samples,
        details={"torch": torch.__version__, "bytes": path.stat().st_size},
    )
