"""Model packages: a folder holding everything needed to rebuild and run a trained model.

Layout::

    weights.safetensors   the network's parameters and buffers (no pickle)
    model.json            run spec, data schema, preprocessing state, metrics, lineage
    README.md             the model card
    model.onnx            (INT8 versions only) the quantized graph that serves the model
    manifest.json         SHA-256 of each file above

The package's content hash is the SHA-256 of ``manifest.json``; loading verifies every file
against the manifest and, when the registry gives one, the manifest against that hash.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safetensors import SafetensorError

from athanor import __version__
from athanor.errors import PackageIntegrityError

if TYPE_CHECKING:  # PyTorch loads where weights are read or written, not for listing
    import torch

FORMAT_VERSION = 1
WEIGHTS = "weights.safetensors"
METADATA = "model.json"
CARD = "README.md"
MANIFEST = "manifest.json"
GRAPH = "model.onnx"
"""An ONNX graph that runs the model instead of the rebuilt network (``model.json`` names it
under ``graph``); quantized versions carry one."""
REQUIRED_FILES = (WEIGHTS, METADATA, CARD)


@dataclass
class ModelPackage:
    """A loaded package: its metadata and its tensors (on the CPU)."""

    path: Path
    metadata: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    content_hash: str

    @property
    def graph_path(self) -> Path | None:
        """The ONNX graph that serves this package, when it has one (INT8 versions)."""
        return self.path / GRAPH if self.metadata.get("graph") == GRAPH else None


def package_files(folder: Path) -> tuple[str, ...]:
    """The files of the package in ``folder``, its manifest last (the graph when present)."""
    graph = (GRAPH,) if (Path(folder) / GRAPH).is_file() else ()
    return (*REQUIRED_FILES, *graph, MANIFEST)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_package(
    folder: Path,
    *,
    state_dict: dict[str, torch.Tensor],
    spec: dict[str, Any],
    schema: dict[str, Any],
    preprocessing: list[dict[str, Any]],
    metrics: dict[str, float],
    lineage: dict[str, Any],
    card: str,
    anomaly: dict[str, Any] | None = None,
) -> str:
    """Write a package into the empty ``folder``.

    ``anomaly`` (anomaly detectors) is the threshold that flags a timestamp and how it was
    chosen; ``model.json`` keeps it under ``anomaly``.

    Returns:
        The package's content hash.
    """
    tensors = {key: value.detach().to("cpu").contiguous() for key, value in state_dict.items()}
    import torch
    from safetensors.torch import save_file

    save_file(tensors, str(folder / WEIGHTS), metadata={"format": "pt", "producer": "athanor"})
    metadata = {
        "format": FORMAT_VERSION,
        "producer": f"athanor {__version__}",
        "spec": spec,
        "schema": schema,
        "preprocessing": preprocessing,
        "metrics": metrics,
        "lineage": {
            **lineage,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
        "parameters": int(sum(t.numel() for t in tensors.values())),
    }
    if anomaly is not None:
        metadata["anomaly"] = anomaly
    (folder / METADATA).write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    (folder / CARD).write_text(card)
    return write_manifest(folder)


def write_manifest(folder: Path) -> str:
    """Hash the package files in ``folder`` into its manifest; returns the content hash."""
    names = package_files(folder)[:-1]
    manifest = {"format": FORMAT_VERSION, "files": {name: _sha256(folder / name) for name in names}}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return _sha256(folder / MANIFEST)


def package_hash(folder: Path) -> str:
    """The content hash of the package in ``folder`` (the SHA-256 of its manifest)."""
    return _sha256(folder / MANIFEST)


METADATA_FIELDS: dict[str, type] = {
    "spec": dict,
    "schema": dict,
    "preprocessing": list,
    "metrics": dict,
    "lineage": dict,
}
"""What readers of ``model.json`` rely on, with the JSON type each must have."""
_JSON_NAMES = {dict: "object", list: "array"}


def _read_json_object(path: Path) -> dict[str, Any]:
    """A package's JSON file, which must hold an object.

    Raises:
        PackageIntegrityError: naming the file, when it is not UTF-8 JSON holding an object.
    """
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        reason = str(exc)[:200] or type(exc).__name__
        raise PackageIntegrityError(f"{path}: not valid JSON ({reason})") from None
    if not isinstance(value, dict):
        raise PackageIntegrityError(f"{path}: not a JSON object (found {type(value).__name__})")
    return value


def load_package(folder: Path, *, expected_hash: str | None = None) -> ModelPackage:
    """Read and verify the package in ``folder``.

    Raises:
        PackageIntegrityError: a file is missing or altered, or the manifest does not match
            ``expected_hash``; the message names the file.
    """
    folder = Path(folder)
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise PackageIntegrityError(f"{folder}: not a model package (no {MANIFEST})")
    content_hash = _sha256(manifest_path)
    if expected_hash is not None and content_hash != expected_hash:
        raise PackageIntegrityError(
            f"{manifest_path}: content hash {content_hash[:16]}... does not match the registered "
            f"{expected_hash[:16]}...; the package was altered after registration"
        )
    files = _read_json_object(manifest_path).get("files")
    if not isinstance(files, dict):
        raise PackageIntegrityError(f"{manifest_path}: unreadable manifest (no 'files' mapping)")
    for name in (*REQUIRED_FILES, *([GRAPH] if GRAPH in files else [])):
        path = folder / name
        if not path.is_file():
            raise PackageIntegrityError(f"{path}: missing from the package")
        if _sha256(path) != files.get(name):
            raise PackageIntegrityError(
                f"{path}: content does not match the package manifest (altered or corrupt)"
            )
    metadata = _read_json_object(folder / METADATA)
    if metadata.get("format") != FORMAT_VERSION:
        raise PackageIntegrityError(
            f"{folder / METADATA}: package format {metadata.get('format')} is not supported "
            f"(this Athanor reads format {FORMAT_VERSION})"
        )
    for key, kind in METADATA_FIELDS.items():
        if not isinstance(metadata.get(key), kind):
            raise PackageIntegrityError(
                f"{folder / METADATA}: '{key}' must be a JSON {_JSON_NAMES[kind]}"
                + (" (missing)" if key not in metadata else "")
            )
    if metadata.get("graph") not in (None, GRAPH) or (
        metadata.get("graph") == GRAPH and GRAPH not in files
    ):
        raise PackageIntegrityError(
            f"{folder / METADATA}: 'graph' must be '{GRAPH}', a file listed in {MANIFEST}"
        )
    try:
        from safetensors.torch import load_file

        state_dict = load_file(str(folder / WEIGHTS), device="cpu")
    except SafetensorError as exc:
        raise PackageIntegrityError(f"{folder / WEIGHTS}: unreadable weights ({exc})") from None
    return ModelPackage(folder, metadata, state_dict, content_hash)
