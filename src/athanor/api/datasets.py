"""Datasets from the Python API: the catalog, imports, versions, summaries and loading.

``athanor.datasets.import_dataset("houses.csv", name="houses", target="price")`` stores an
immutable version; ``show``, ``stats`` and ``preview`` describe catalog datasets and imported
``NAME[@VERSION]`` alike; ``load`` returns the raw arrays.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from athanor.data.catalog import DatasetEntry
from athanor.data.catalog import catalog as _catalog
from athanor.data.importing import ImportKind, ImportResult
from athanor.data.importing import import_dataset as _import_dataset
from athanor.data.raw import RawDataset
from athanor.data.schema import Task
from athanor.data.summary import describe, sample_rows, statistics
from athanor.data.versions import load_dataset, resolve_dataset
from athanor.settings import Settings
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
    *,
    name: str,
    kind: ImportKind = "auto",
    target: str | None = None,
    task: Task | None = None,
    skip_bad: bool = False,
    encoding: str = "utf-8",
    time_column: str | None = None,
    settings: Settings | None = None,
) -> ImportResult:
    """Import a table, image folder, IDX files, text or a time series as a dataset version.

    See :func:`athanor.data.importing.import_dataset` for every argument. Importing the
    same content again returns the existing version (``result.reused``).

    Raises:
        DataError: bad data, naming the file, line or column.
    """
    return _import_dataset(
        path,
        name=name,
        kind=kind,
        target=target,
        task=task,
        skip_bad=skip_bad,
        encoding=encoding,
        time_column=time_column,
        settings=settings,
    )


def list(*, settings: Settings | None = None) -> list[DatasetSummary]:
    """Every imported dataset with its number of versions and newest version."""
    return open_store(settings).datasets.list()


def versions(name: str, *, settings: Settings | None = None) -> list[DatasetVersionRecord]:
    """Every version of an imported dataset, newest first."""
    store = open_store(settings)
    if not store.datasets.exists(name):
        resolve_dataset(name, settings)  # raises with suggestions
    return store.datasets.versions(name)


def show(ref: str, *, settings: Settings | None = None, **options: Any) -> dict[str, Any]:
    """Schema, counts, class balance, missing values and provenance of a dataset."""
    resolved = resolve_dataset(ref, settings)
    raw = load_dataset(resolved, settings, **options)
    info = describe(raw)
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
    """Per-column or per-channel statistics and class balance of a dataset."""
    return statistics(load_dataset(ref, settings, **options))


def preview(
    ref: str, *, rows: int = 5, seed: int = 0, settings: Settings | None = None, **options: Any
) -> dict[str, Any]:
    """A few seeded random samples: rows, images (arrays) with labels, text or steps."""
    return sample_rows(load_dataset(ref, settings, **options), rows, seed)
