"""Registered models from the Python API: ``athanor.models.load("mnist-cnn@production")``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from athanor.data.schema import Schema
from athanor.errors import NotFound, UserError
from athanor.registry.package import load_package
from athanor.registry.registry import (
    check_alias_name,
    check_model_name,
    delete_versions,
    import_package,
    package_path,
    parse_ref,
    register_package,
    resolve,
)
from athanor.registry.signature import signature
from athanor.settings import Settings
from athanor.spec.serving import ExportSpec
from athanor.store import ModelVersionRecord, RegisteredModelRecord, open_store

if TYPE_CHECKING:  # serving and export load PyTorch; listing and showing models do not
    from athanor.registry.export import ExportResult
    from athanor.serve.generation import GeneratedImages, GeneratedText
    from athanor.serve.predictor import Predictor


def load(ref: str, *, device: str = "cpu", settings: Settings | None = None) -> Predictor:
    """A predictor for ``NAME[@VERSION|@ALIAS]`` (newest version by default), verified on load.

    Raises:
        NotFound: no such model, version or alias.
        PackageIntegrityError: the stored package was altered.
    """
    store = open_store(settings)
    record = resolve(store, ref)
    from athanor.serve.predictor import Predictor

    return Predictor.from_package(
        package_path(store, record),
        expected_hash=record.content_hash,
        device=device,
        ref=record.ref,
    )


def generate(
    ref: str,
    prompt: str = "",
    *,
    length: int = 200,
    temperature: float = 0.8,
    top_k: int | None = None,
    seed: int | None = None,
    n: int = 16,
    device: str = "cpu",
    settings: Settings | None = None,
) -> GeneratedText | GeneratedImages:
    """Text from a registered language model, or images from a registered GAN.

    ``athanor.models.generate("shakes", "ROMEO:", length=300, seed=1).text``; the same as
    ``load(ref).generate(...)`` (see :meth:`Predictor.generate` for the options).

    Raises:
        NotFound: no such model, version or alias.
        GenerationError: a model that does not generate, or options out of range.
        PredictionInputError: a prompt with characters or words the model never saw.
    """
    predictor = load(ref, device=device, settings=settings)
    return predictor.generate(
        prompt, length=length, temperature=temperature, top_k=top_k, seed=seed, n=n
    )


def list(*, settings: Settings | None = None) -> list[RegisteredModelRecord]:
    """Every registered model name with its number of versions and its aliases."""
    return open_store(settings).models.list()


def versions(name: str, *, settings: Settings | None = None) -> list[ModelVersionRecord]:
    """Every version of ``name``, newest first, with tags and aliases."""
    return open_store(settings).models.versions(name)


def show(ref: str, *, settings: Settings | None = None) -> dict[str, Any]:
    """A version's record plus its package metadata (spec, schema, signature, lineage)."""
    store = open_store(settings)
    record = resolve(store, ref)
    package = load_package(package_path(store, record), expected_hash=record.content_hash)
    metadata = package.metadata
    return {
        **record.to_json(),
        "package_path": str(package.path),
        "schema": metadata["schema"],
        "signature": signature(Schema.model_validate(metadata["schema"])),
        "preprocessing": metadata["preprocessing"],
        "spec": metadata["spec"],
        "lineage": metadata["lineage"],
        "producer": metadata.get("producer"),
        "parameters": metadata["parameters"],
        "anomaly": metadata.get("anomaly"),
        "quantization": metadata.get("quantization"),
    }


def register(name: str, run_id: int, *, settings: Settings | None = None) -> ModelVersionRecord:
    """Register the model of a finished run as the next version of ``name``.

    Raises:
        NotFound: the run has no saved model (it failed or is still running).
    """
    store = open_store(settings)
    run = store.runs.get(run_id)
    package = run.summary.get("package")
    if not package:
        raise NotFound(f"run {run_id} has no saved model (status: {run.status})")
    parse_ref(name)
    return register_package(
        store,
        name,
        store.artifacts.local(package),
        run_id=run_id,
        metrics=run.summary.get("metrics"),
    )


def package_dir(ref: str, *, settings: Settings | None = None) -> Path:
    """Where the package of ``ref`` lies in the artifact store."""
    store = open_store(settings)
    return package_path(store, resolve(store, ref))


def set_alias(
    name: str, alias: str, ref: str | int, *, settings: Settings | None = None
) -> tuple[ModelVersionRecord, int | None]:
    """Point ``name@alias`` at a version (a number, or a reference such as ``staging``).

    A server following the alias swaps to the new version without dropping requests.

    Returns:
        The version the alias now points at, and the one it pointed at before (or ``None``).

    Raises:
        UserError: an invalid alias name.
        NotFound: no such model or version.
    """
    store = open_store(settings)
    check_alias_name(alias)
    target = resolve(store, f"{name}@{ref}")
    previous = store.models.set_alias(name, alias, target.version)
    return store.models.get(name, target.version), previous


def remove_alias(name: str, alias: str, *, settings: Settings | None = None) -> int:
    """Remove ``name@alias``; returns the version it pointed at."""
    return open_store(settings).models.remove_alias(name, alias)


def tag(
    ref: str,
    tags: dict[str, str] | None = None,
    *,
    remove: Any = (),
    settings: Settings | None = None,
) -> ModelVersionRecord:
    """Set ``key=value`` tags on a version, and remove the keys in ``remove``."""
    store = open_store(settings)
    record = resolve(store, ref)
    if tags:
        record = store.models.set_tags(record.name, record.version, tags)
    if remove:
        record = store.models.remove_tags(record.name, record.version, [*remove])
    return record


def describe(ref: str, description: str, *, settings: Settings | None = None) -> None:
    """Set the description of a version (``NAME@VERSION``) or of the model (``NAME``)."""
    store = open_store(settings)
    name, _selector = parse_ref(ref)
    version = resolve(store, ref).version if "@" in ref else None
    store.models.set_description(name, version, description)


def delete(ref: str, *, force: bool = False, settings: Settings | None = None) -> Any:
    """Delete one version (``NAME@VERSION``) or a whole model (``NAME``) and its packages.

    Raises:
        UserError: an alias points at it and ``force`` is not set.
    """
    return delete_versions(open_store(settings), ref, force=force)


def export(
    ref: str,
    destination: str | Path | None = None,
    format: str = "package",
    *,
    opset: int = 17,
    tolerance: float = 1e-4,
    overwrite: bool = False,
    quantize: str | None = None,
    max_drop: float = 0.01,
    calibration: int = 512,
    register: str | None = None,
    settings: Settings | None = None,
) -> ExportResult:
    """Export a version as a package folder, a zip, ONNX (FP32 or INT8) or TorchScript.

    ONNX and TorchScript exports are compared with the network on synthetic inputs and
    refused when they differ by more than ``tolerance``. An INT8 export (``quantize="int8"``)
    is measured on the test split of the model's dataset against the FP32 graph and refused
    when it loses more than ``max_drop``; ``details["quantization"]`` holds the measurement.

    Args:
        ref: ``NAME[@VERSION|@ALIAS]``.
        destination: file or folder to write (default ``NAME-vN`` + the format's suffix in
            the current folder; ``NAME-vN.int8.onnx`` for INT8).
        format: ``package``, ``zip``, ``onnx`` or ``torchscript``.
        opset: ONNX opset (17-20).
        tolerance: largest output difference accepted.
        overwrite: replace an existing destination.
        quantize: ``int8`` to quantize an ONNX export with ONNX Runtime.
        max_drop: largest quality loss accepted: accuracy as a fraction (0.01 is one
            percentage point), or the relative RMSE increase for regression.
        calibration: training samples that calibrate a convolutional network.
        register: also register the INT8 graph as the next version of this model name
            (served by ONNX Runtime); ``details["registered"]`` names it.
        settings: store location (default: from the environment).

    Raises:
        ExportError: naming the layer an operation of which the format cannot express.
        QuantizationError: a model that cannot be quantized or measured (a task other
            than classification or regression, a dataset no longer present, no
            quantizable layer); ``QuantizationRefused``: a quality loss above ``max_drop``.
    """
    from athanor.registry.export.base import default_destination
    from athanor.spec.loading import validate_settings

    spec = validate_settings(
        ExportSpec,
        {
            "format": format,
            "opset": opset,
            "tolerance": tolerance,
            "quantize": quantize,
            "max_drop": max_drop,
            "calibration": calibration,
        },
        "export",
    )
    if register is not None:
        if spec.quantize is None:
            raise UserError("--register registers a quantized export; add --quantize int8")
        check_model_name(register)
    store = open_store(settings)
    record = resolve(store, ref)
    package = load_package(package_path(store, record), expected_hash=record.content_hash)
    target = (
        Path(destination)
        if destination
        else default_destination(package, record.ref, format, spec.quantize)
    )
    from athanor.registry.export import export_package

    result = export_package(package, target, spec, overwrite=overwrite, settings=store.settings)
    if register is not None:
        registered = _register_quantized(store, package, record.ref, result, register)
        result.details["registered"] = registered.ref
    return result


def _register_quantized(
    store: Any, package: Any, ref: str, result: ExportResult, name: str
) -> ModelVersionRecord:
    """Register the INT8 graph of ``result`` as the next version of ``name``."""
    import tempfile

    from athanor.registry.quantized_package import write_quantized_package

    staging_root = store.artifacts.root / ".staging"
    staging_root.mkdir(parents=True, exist_ok=True)
    report = result.details["quantization"]
    with tempfile.TemporaryDirectory(dir=staging_root, prefix="int8-") as scratch:
        write_quantized_package(package, result.path, report, Path(scratch), ref=ref)
        return register_package(
            store,
            name,
            Path(scratch),
            description=f"INT8 ({report['method']} quantization) of {ref}",
            tags={"precision": "int8", "quantized_from": ref},
        )


def import_(
    source: str | Path,
    name: str | None = None,
    *,
    expected_hash: str | None = None,
    description: str = "",
    tags: dict[str, str] | None = None,
    settings: Settings | None = None,
) -> ModelVersionRecord:
    """Register an exported package (folder or zip) as the next version of ``name``.

    Raises:
        PackageIntegrityError: an altered package, or one whose hash is not ``expected_hash``.
    """
    return import_package(
        open_store(settings),
        Path(source),
        name,
        expected_hash=expected_hash,
        description=description,
        tags=tags,
    )
