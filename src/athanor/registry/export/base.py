"""The exporter registry and the atomic write every export goes through."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from athanor._choices import choices_text
from athanor.errors import ExportError
from athanor.registry.package import WEIGHTS, ModelPackage
from athanor.settings import Settings
from athanor.spec.serving import ExportSpec
from athanor.store.disk_space import check_room, disk_full_as_error


@dataclass
class ExportResult:
    """What an export wrote and how closely it reproduces the original network.

    Attributes:
        format: the exporter's name.
        path: the written file or folder.
        content_hash: the exported package's content hash.
        max_abs_diff: largest absolute difference between the export's outputs and the
            network's on ``checked_samples`` synthetic inputs (``None`` for a package copy,
            which is the same bytes).
        details: format-specific facts (opset, input and output names, sizes).
    """

    format: str
    path: Path
    content_hash: str
    max_abs_diff: float | None = None
    checked_samples: int = 0
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path)
        return data


Exporter = Callable[[ModelPackage, Path, ExportSpec], ExportResult]


@dataclass(frozen=True)
class ExporterEntry:
    """A registered export format."""

    name: str
    suffix: str
    description: str
    export: Exporter
    is_folder: bool = False


EXPORTERS: dict[str, ExporterEntry] = {}


def register_exporter(
    name: str, *, suffix: str, description: str, is_folder: bool = False
) -> Callable[[Exporter], Exporter]:
    """Register ``function(package, temporary_path, spec) -> ExportResult`` as format ``name``.

    The function writes the export at the temporary path it is given (a file, or a folder
    it creates when ``is_folder``) and checks it; the caller renames it into place.
    """

    def decorate(function: Exporter) -> Exporter:
        EXPORTERS[name] = ExporterEntry(name, suffix, description, function, is_folder)
        return function

    return decorate


def default_destination(
    package: ModelPackage, ref: str, format: str, quantize: str | None = None
) -> Path:
    """``NAME-vN.onnx`` style file name in the current folder (``NAME-vN.int8.onnx``)."""
    entry = _entry(format)
    variant = f".{quantize}" if quantize else ""
    return Path.cwd() / (ref.replace("@", "-v") + variant + entry.suffix)


def _entry(format: str) -> ExporterEntry:
    if format not in EXPORTERS:
        raise ExportError(f"unknown export format '{format}'; valid: {choices_text(EXPORTERS)}")
    return EXPORTERS[format]


def export_package(
    package: ModelPackage,
    destination: Path,
    spec: ExportSpec | None = None,
    *,
    overwrite: bool = False,
    settings: Settings | None = None,
) -> ExportResult:
    """Export ``package`` as ``spec.format`` to ``destination``.

    With ``spec.quantize`` (``int8``, ONNX only) the graph is quantized and measured on the
    test split of the model's dataset (:mod:`athanor.registry.export.quantization`).

    Args:
        package: a verified package (``load_package``).
        destination: the file (or folder, for ``package``) to write.
        spec: format and checks (default: a package folder).
        overwrite: replace an existing destination (default False).
        settings: where a quantized export finds the model's dataset (default: the
            environment).

    Returns:
        Where the export lies and the largest output difference measured.

    Raises:
        ExportError: an existing destination, an operation the format cannot express (naming
            the layer), or outputs differing by more than ``spec.tolerance``.
        QuantizationError: a model that cannot be quantized or measured, or (its
            subclass ``QuantizationRefused``) one that loses more than ``spec.max_drop``.
    """
    spec = spec or ExportSpec()
    entry = _entry(spec.format)
    export: Exporter = entry.export
    if spec.quantize is not None:
        if spec.format != "onnx":
            raise ExportError(
                f"--quantize {spec.quantize} applies to ONNX exports; use --format onnx "
                f"(not {spec.format})"
            )
        from athanor.registry.export.quantization import quantize_to_onnx

        def export(package: ModelPackage, path: Path, spec: ExportSpec) -> ExportResult:
            return quantize_to_onnx(package, path, spec, settings=settings)

    destination = Path(destination).absolute()
    if destination.exists() and not overwrite:
        raise ExportError(f"{destination} already exists; choose another --output or --overwrite")
    if not destination.parent.is_dir():
        raise ExportError(f"{destination.parent}: no such folder")
    # Every format holds the weights once; PyTorch's zip writer aborts the whole process
    # when it runs out of room, so room is checked before it starts.
    check_room(destination, (package.path / WEIGHTS).stat().st_size)
    temporary = destination.with_name(f".{destination.name}.{uuid.uuid4().hex[:8]}.partial")
    started = time.perf_counter()
    try:
        with disk_full_as_error(destination):
            result = export(package, temporary, spec)
            if destination.is_dir() and not destination.is_symlink():
                shutil.rmtree(destination)
            os.replace(temporary, destination)
    finally:
        if temporary.is_dir():
            shutil.rmtree(temporary, ignore_errors=True)
        elif temporary.exists():
            temporary.unlink()
    result.path = destination
    result.seconds = round(time.perf_counter() - started, 3)
    return result
