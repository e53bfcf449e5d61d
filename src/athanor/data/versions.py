"""Dataset names in specs: catalog entries and imported versions (``NAME[@VERSION]``).

``VERSION`` is a version number (``housing@2``), a prefix of its content hash
(``housing@3f2a9c1e``) or ``latest`` (the default). Catalog names take no version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from athanor._choices import choices_text, closest
from athanor.data.catalog import DatasetEntry, catalog
from athanor.data.raw import RawDataset, collection_or_array
from athanor.errors import DataError, DatasetNotFound
from athanor.settings import Settings
from athanor.store import DatasetVersionRecord, open_store


@dataclass(frozen=True)
class DatasetRef:
    """What a dataset name resolved to: a catalog entry or an imported version."""

    name: str
    entry: DatasetEntry | None = None
    version: DatasetVersionRecord | None = None

    @property
    def ref(self) -> str:
        return self.version.ref if self.version is not None else self.name

    @property
    def kind(self) -> str:
        return self.entry.kind if self.entry is not None else self.version.kind  # type: ignore[union-attr]

    @property
    def task(self) -> str:
        return self.entry.task if self.entry is not None else self.version.task  # type: ignore[union-attr]


def split_ref(ref: str) -> tuple[str, str | None]:
    """``"housing@2"`` -> ``("housing", "2")``; ``"mnist"`` -> ``("mnist", None)``."""
    name, sep, version = ref.partition("@")
    return name, (version or None) if sep else None


def resolve_dataset(ref: str, settings: Settings | None = None) -> DatasetRef:
    """The catalog entry or imported version that ``ref`` names.

    Raises:
        DatasetNotFound: neither a catalog name nor an imported dataset (or version), with
            the closest name and the valid ones.
    """
    name, version = split_ref(ref)
    entries = catalog()
    if name in entries:
        if version is not None:
            raise DatasetNotFound(
                f"'{ref}': catalog datasets have no versions; use '{name}'",
                params={"name": ref, "suggestion": name},
                field="data",
            )
        return DatasetRef(name=name, entry=entries[name])
    store = open_store(settings)
    if store.datasets.exists(name):
        return DatasetRef(name=name, version=store.datasets.get(name, version))
    imported = [summary.name for summary in store.datasets.list()]
    known = [*entries, *imported]
    hint = closest(name, known)
    suggestion = f" (did you mean '{hint}'?)" if hint else ""
    raise DatasetNotFound(
        f"unknown dataset '{name}'{suggestion}; catalog: {choices_text(list(entries))}"
        + (f"; imported: {choices_text(imported)}" if imported else ""),
        params={"name": name, "suggestion": hint or ""},
        field="data",
    )


def load_dataset(
    ref: str | DatasetRef, settings: Settings | None = None, **options: Any
) -> RawDataset:
    """The raw dataset of a catalog name or an imported ``NAME[@VERSION]``.

    Args:
        ref: the name, or an already resolved reference.
        settings: store, mirrors and caches (default: the environment).
        options: catalog loader options (e.g. ``series`` for NAB).

    Raises:
        DatasetNotFound: an unknown name or version.
        DatasetUnavailable: a catalog dataset whose files cannot be had.
    """
    resolved = resolve_dataset(ref, settings) if isinstance(ref, str) else ref
    if resolved.entry is not None:
        return resolved.entry.load(settings, **options)
    assert resolved.version is not None
    store = open_store(settings)
    return load_version(store.artifacts.local(resolved.version.path), resolved.version)


def load_version(folder: Path, record: DatasetVersionRecord) -> RawDataset:
    """An imported version's files as a :class:`RawDataset`.

    Raises:
        DataError: the version's files are missing (the store was altered).
    """
    from athanor.data.importing import DATASET_JSON, load_table_version

    if not (folder / DATASET_JSON).is_file():
        raise DataError(f"dataset {record.ref}: its files are missing from {folder}")
    info = json.loads((folder / DATASET_JSON).read_text())
    kind = info["kind"]
    common = {"name": record.name, "origin": {record.ref: str(folder)}, "version": record.ref}
    if kind == "tabular":
        table = load_table_version(folder, info)
        return RawDataset(
            kind="tabular",
            task=info["task"],
            x=table,
            y=None,
            features=table.names,
            target=info.get("target") or "",
            **common,
        )
    if kind == "image":
        from athanor.data.images import ImageCollection

        images = ImageCollection.load(folder)
        labels = np.load(folder / "labels.npy", allow_pickle=False)
        is_test = np.load(folder / "is_test.npy", allow_pickle=False)
        # Unlabeled items (label -1) wait for labeling; training uses the labeled ones.
        labeled = _labeled_only(record, labels, info)
        train = ~is_test & labeled
        is_test = is_test & labeled
        return RawDataset(
            kind="image",
            task="classification",
            x=collection_or_array(images[np.flatnonzero(train)]),
            y=labels[train],
            x_test=collection_or_array(images[np.flatnonzero(is_test)]) if is_test.any() else None,
            y_test=labels[is_test] if is_test.any() else None,
            classes=list(info["classes"]),
            **common,
        )
    if kind == "tokens":
        return RawDataset(
            kind="tokens",
            task="language_model",
            x=np.zeros(0, dtype=np.int64),
            y=None,
            text=(folder / "corpus.txt").read_text(encoding="utf-8"),
            target="next_token",
            **common,
        )
    if kind == "text_classes":
        from athanor.data.documents import load_documents

        texts, labels, is_test = load_documents(folder)
        documents = np.array(texts, dtype=object)
        labeled = _labeled_only(record, labels, info)
        documents, labels, is_test = documents[labeled], labels[labeled], is_test[labeled]
        return RawDataset(
            kind="tokens",
            task="classification",
            x=documents[~is_test],
            y=labels[~is_test],
            x_test=documents[is_test] if is_test.any() else None,
            y_test=labels[is_test] if is_test.any() else None,
            classes=list(info["classes"]),
            **common,
        )
    if kind == "sequence":
        return RawDataset(
            kind="sequence",
            task="forecasting",
            x=np.load(folder / "values.npy", allow_pickle=False),
            y=None,
            features=list(info["columns"]),
            targets=list(info["targets"]),
            target=",".join(info["targets"]),
            timestamps=np.load(folder / "timestamps.npy", allow_pickle=False),
            **common,
        )
    if kind == "logs":
        from athanor.data.log_versions import load_log_version

        return load_log_version(folder, **common)
    if kind == "detection":
        from athanor.data.box_targets import raw_from_boxes
        from athanor.data.boxes import load_boxes

        return raw_from_boxes(load_boxes(folder), record.name, version=record.ref)
    raise DataError(f"dataset {record.ref}: unknown kind '{kind}' in {folder / DATASET_JSON}")


def _labeled_only(record: DatasetVersionRecord, labels: np.ndarray, info: dict) -> np.ndarray:
    """Which items are labeled; a version with unlabeled items trains on the labeled ones
    only, and one with fewer than two classes labeled cannot train at all.

    Raises:
        DataError: the version has labels of fewer than two classes.
    """
    labeled = labels >= 0
    classes = np.unique(labels[labeled])
    if (~labeled).any() and len(classes) < 2:
        raise DataError(
            f"dataset {record.ref}: {int(labeled.sum())} of {len(labels)} items are labeled "
            f"({len(classes)} class(es)); training needs labels of at least two classes: "
            "label it with 'athanor label' and train on the published version"
        )
    return labeled
