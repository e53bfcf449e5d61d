"""Registered models from the Python API: ``athanor.models.load("mnist-cnn")``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from athanor.errors import NotFound
from athanor.registry.package import load_package
from athanor.registry.registry import package_path, parse_ref, register_package, resolve
from athanor.serve.predictor import Predictor
from athanor.settings import Settings
from athanor.store import ModelVersionRecord, RegisteredModelRecord, open_store


def load(ref: str, *, device: str = "cpu", settings: Settings | None = None) -> Predictor:
    """A predictor for ``NAME[@VERSION]`` (newest version by default), verified on load.

    Raises:
        NotFound: no such model or version.
        PackageIntegrityError: the stored package was altered.
    """
    store = open_store(settings)
    record = resolve(store, ref)
    return Predictor.from_package(
        package_path(store, record),
        expected_hash=record.content_hash,
        device=device,
        ref=record.ref,
    )


def list(*, settings: Settings | None = None) -> list[RegisteredModelRecord]:
    """Every registered model name with its number of versions."""
    return open_store(settings).models.list()


def versions(name: str, *, settings: Settings | None = None) -> list[ModelVersionRecord]:
    """Every version of ``name``, newest first."""
    return open_store(settings).models.versions(name)


def show(ref: str, *, settings: Settings | None = None) -> dict[str, Any]:
    """A version's record plus its package metadata (spec, schema, metrics, lineage)."""
    store = open_store(settings)
    record = resolve(store, ref)
    package = load_package(package_path(store, record), expected_hash=record.content_hash)
    return {
        **record.to_json(),
        "package_path": str(package.path),
        "schema": package.metadata["schema"],
        "spec": package.metadata["spec"],
        "lineage": package.metadata["lineage"],
        "parameters": package.metadata["parameters"],
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
        store.artifacts.resolve(package),
        run_id=run_id,
        metrics=run.summary.get("metrics"),
    )


def package_dir(ref: str, *, settings: Settings | None = None) -> Path:
    """Where the package of ``ref`` lies in the artifact store."""
    store = open_store(settings)
    return package_path(store, resolve(store, ref))
