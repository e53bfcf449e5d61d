"""Datasets from the Python API: ``athanor.datasets.catalog()``, ``athanor.datasets.load()``."""

from __future__ import annotations

from athanor.data.catalog import DatasetEntry
from athanor.data.catalog import catalog as _catalog
from athanor.data.prepare import load_raw
from athanor.data.raw import RawDataset
from athanor.settings import Settings


def catalog() -> list[DatasetEntry]:
    """Every built-in dataset, by name."""
    return [entry for _, entry in sorted(_catalog().items())]


def load(name: str, *, settings: Settings | None = None) -> RawDataset:
    """The raw arrays of dataset ``name`` (from the mirror, cache or download)."""
    return load_raw(name, settings)
