"""Datasets from the Python API: the catalog, imports, versions, summaries and loading.

``athanor.datasets.import_dataset("houses.csv", name="houses", target="price")`` stores an
immutable version; ``show``, ``stats`` and ``preview`` describe catalog datasets and imported
``NAME[@VERSION]`` alike; ``load`` returns the raw arrays.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from athanor.data.box_versions import KIND as DETECTION
from athanor.data.box_versions import (
    detection_info,
    export_detection,
    load_detection_version,
    sample_boxes,
)
from athanor.data.catalog import DatasetEntry
from athanor.data.catalog import catalog as _catalog
from athanor.data.importing import ImportResult
from athanor.data.importing import import_dataset as _import_dataset
from athanor.data.raw import RawDataset
from athanor.data.removal import DatasetDependents, dataset_dependents, delete_dataset
from athanor.data.summary import describe, sample_rows, statistics
from athanor.data.versions import DatasetRef, load_dataset, resolve_dataset
from athanor.settings import Settings
from athanor.spec.imports import ImportOptions
from athanor.store import DatasetSummary, DatasetVersionRecord, open_store


def catalog() -> list[DatasetEntry]:
    """Every built-in dataset, by name."""
    return [entry for _, entry in sorted(_catalog().items())]


def load(name: str, *, settings: Settings | None = None, **options: Any) -> RawDataset:
    """The raw arrays of a catalog dataset or an imported ``NAME[@VERSION]``.

    Args:
        name: e.g. ``"mnist"``, ``"houses"`` (newest version) or ``"houses@2"``.
        settings: store, mirrors and caches (default: the environment).
        options: catalog loader options, e.g. ``series="nyc_taxi"`` for ``nab``.

    Raises:
        DatasetNotFound: an unknown name or version.
    """
    return load_dataset(name, settings, **options)


def import_dataset(
    path: str | Path,
    options: ImportOptions | None = None,
    *,
    settings: Settings | None = None,
    **values: Any,
) -> ImportResult:
    """Import a table, image folder, IDX files, text or a time series as a dataset version.

    ``import_dataset("houses.csv", name="houses", target="price")``: the options are an
    :class:`ImportOptions` (``name``, ``kind``, ``target``, ``task``, ``skip_bad``,
    ``encoding``, ``time_column``), given as one or field by field. See
    :func:`athanor.data.importing.import_dataset`. Importing the same content again returns
    the existing version (``result.reused``).

    Raises:
        DataError: bad data, naming the file, line or column.
        SpecError: an unknown or invalid option, naming it.
    """
    return _import_dataset(path, options, settings=settings, **values)


def list(*, settings: Settings | None = None) -> list[DatasetSummary]:
    """Every imported dataset with its number of versions and newest version."""
    return open_store(settings).datasets.list()


def versions(name: str, *, settings: Settings | None = None) -> list[DatasetVersionRecord]:
    """Every version of an imported dataset, newest first."""
    store = open_store(settings)
    if not store.datasets.exists(name):
        resolve_dataset(name, settings)  # raises with suggestions
    return store.datasets.versions(name)


def dependents(ref: str, *, settings: Settings | None = None) -> DatasetDependents:
    """What depends on imported ``NAME`` (every version) or ``NAME@VERSION``."""
    return dataset_dependents(open_store(settings), ref)


def delete(ref: str, *, settings: Settings | None = None) -> list[DatasetVersionRecord]:
    """Delete imported ``NAME`` (every version) or ``NAME@VERSION`` and its files, for good.

    Raises:
        DatasetNotFound: no such imported dataset or version.
        Conflict: a queued or running job trains on it, or a labeling project is built on
            it; nothing is deleted.
    """
    return delete_dataset(open_store(settings), ref)


def show(ref: str, *, settings: Settings | None = None, **options: Any) -> dict[str, Any]:
    """Schema, counts, class balance, missing values and provenance of a dataset."""
    resolved = resolve_dataset(ref, settings)
    if _is_detection(resolved):
        # Boxes per class and split, from the version's own record (no image is read).
        recorded = resolved.version.info  # type: ignore[union-attr]
        info = {"name": resolved.name, **detection_info(load_detection_version(resolved, settings))}
        info["source_format"] = recorded.get("source_format")
    else:
        info = describe(load_dataset(resolved, settings, **options))
    if resolved.entry is not None:
        info["catalog"] = resolved.entry.to_json()
    if resolved.version is not None:
        version = resolved.version
        info["version"] = version.short_hash
        info["ref"] = version.ref
        info["record"] = version.to_json()
        info["report"] = version.info.get("report", {})
    return info


def stats(ref: str, *, settings: Settings | None = None, **options: Any) -> dict[str, Any]:
    """Per-column or per-channel statistics and class balance of a dataset (detection: of
    its boxes)."""
    resolved = resolve_dataset(ref, settings)
    if _is_detection(resolved):
        info = detection_info(load_detection_version(resolved, settings))
        total = info["boxes"] or 1
        balance = {c: {"count": n, "share": n / total} for c, n in info["class_counts"].items()}
        return {"name": resolved.name, "kind": DETECTION, "class_balance": balance}
    return statistics(load_dataset(resolved, settings, **options))


def preview(
    ref: str, *, rows: int = 5, seed: int = 0, settings: Settings | None = None, **options: Any
) -> dict[str, Any]:
    """A few seeded random samples: rows, images (arrays) with labels, text, steps, or
    (detection) image files with their boxes."""
    resolved = resolve_dataset(ref, settings)
    if _is_detection(resolved):
        dataset = load_detection_version(resolved, settings)
        return {"kind": "detection", "images": sample_boxes(dataset, rows, seed)}
    return sample_rows(load_dataset(resolved, settings, **options), rows, seed)


def preview_boxes(
    ref: str, *, count: int = 16, seed: int = 0, settings: Settings | None = None
) -> bytes:
    """A PNG grid of ``count`` random images of a detection dataset with their boxes and
    class names drawn (one fixed colour per class).

    Raises:
        DatasetNotFound: an unknown name or version.
        DataError: not a detection dataset.
    """
    from athanor.data.box_preview import preview_png

    return preview_png(load_detection_version(ref, settings), count=count, seed=seed)


def export(
    ref: str, box_format: str, out: str | Path, *, settings: Settings | None = None
) -> dict[str, Any]:
    """Write a detection dataset as ``yolo``, ``coco`` or ``voc`` into a new folder ``out``
    (images copied); what was written (counts and the folder).

    Raises:
        DatasetNotFound: an unknown name or version.
        DataError: not a detection dataset.
        UserError: an unknown format, or ``out`` exists and is not empty.
    """
    return export_detection(ref, box_format, Path(out), settings)


def _is_detection(resolved: DatasetRef) -> bool:
    return resolved.version is not None and resolved.version.kind == DETECTION
