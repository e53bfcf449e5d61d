"""The catalog of built-in datasets: each entry says what it is and knows how to load it.

Sources register entries with :func:`register_dataset`; ``athanor data catalog`` lists them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from athanor._choices import choices_text, closest
from athanor.data.raw import RawDataset
from athanor.data.schema import InputKind, Task
from athanor.errors import DatasetNotFound
from athanor.settings import Settings


@dataclass(frozen=True)
class DatasetEntry:
    """A catalog dataset: description, provenance and loader."""

    name: str
    task: Task
    kind: InputKind
    size: str
    license: str
    source: str
    description: str
    loader: Callable[..., RawDataset]
    """Called with the settings, plus the ``options`` a spec sets (e.g. ``series``)."""
    options: tuple[str, ...] = field(default=())
    """Spec keys of ``data`` this entry takes (passed to the loader when set)."""

    def load(self, settings: Settings | None = None, **options: Any) -> RawDataset:
        """The raw dataset; options it does not take are ignored.

        Raises:
            DatasetUnavailable: its files are not available.
        """
        chosen = {k: v for k, v in options.items() if k in self.options and v is not None}
        return self.loader(settings, **chosen)

    def to_json(self) -> dict[str, str]:
        return {
            "name": self.name,
            "task": self.task,
            "kind": self.kind,
            "size": self.size,
            "license": self.license,
            "source": self.source,
            "description": self.description,
        }


_CATALOG: dict[str, DatasetEntry] = {}
_SOURCE_MODULES = (
    "athanor.data.sources.mnist",
    "athanor.data.sources.digits_detection",
    "athanor.data.sources.sklearn_bundled",
    "athanor.data.sources.fashion_mnist",
    "athanor.data.sources.cifar10",
    "athanor.data.sources.housing",
    "athanor.data.sources.statsmodels_series",
    "athanor.data.sources.tinyshakespeare",
    "athanor.data.sources.nab",
    "athanor.data.sources.logic_gates",
    "athanor.data.sources.hdfs_logs",
)


def register_dataset(entry: DatasetEntry) -> DatasetEntry:
    if entry.name in _CATALOG:
        raise ValueError(f"dataset {entry.name!r} registered twice")
    _CATALOG[entry.name] = entry
    return entry


def _load_sources() -> None:
    for module in _SOURCE_MODULES:
        importlib.import_module(module)


def catalog() -> dict[str, DatasetEntry]:
    """Every catalog entry by name."""
    _load_sources()
    return dict(_CATALOG)


def catalog_entry(name: str) -> DatasetEntry:
    """The entry called ``name``.

    Raises:
        DatasetNotFound: with the closest name and the valid ones.
    """
    entries = catalog()
    if name not in entries:
        hint = closest(name, list(entries))
        suggestion = f" (did you mean '{hint}'?)" if hint else ""
        raise DatasetNotFound(
            f"unknown dataset '{name}'{suggestion}; catalog: {choices_text(list(entries))}",
            params={"name": name, "suggestion": hint or ""},
        )
    return entries[name]
