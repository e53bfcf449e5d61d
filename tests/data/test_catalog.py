"""Catalog entries load the real files: shapes, classes and checksums."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from athanor.data.catalog import catalog, catalog_entry
from athanor.data.prepare import load_raw
from athanor.errors import DatasetNotFound

# SHA-256 of the decompressed official IDX files.
LABEL_SHA = {
    "train": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "test": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


def test_mnist_from_the_mirror(mnist_raw) -> None:
    assert mnist_raw.x.shape == (60_000, 1, 28, 28) and mnist_raw.x.dtype == np.uint8
    assert mnist_raw.x_test.shape == (10_000, 1, 28, 28)
    assert mnist_raw.classes == [str(d) for d in range(10)]
    assert np.bincount(mnist_raw.y).tolist()[:3] == [5923, 6742, 5958]
    header = bytes([0, 0, 8, 1]) + (60_000).to_bytes(4, "big")
    labels = header + mnist_raw.y.astype(np.uint8).tobytes()
    assert hashlib.sha256(labels).hexdigest() == LABEL_SHA["train"]
    header = bytes([0, 0, 8, 1]) + (10_000).to_bytes(4, "big")
    labels = header + mnist_raw.y_test.astype(np.uint8).tobytes()
    assert hashlib.sha256(labels).hexdigest() == LABEL_SHA["test"]


@pytest.mark.parametrize(
    ("name", "rows", "features", "classes"),
    [
        ("iris", 150, 4, 3),
        ("wine", 178, 13, 3),
        ("breast-cancer", 569, 30, 2),
        ("diabetes", 442, 10, None),
    ],
)
def test_bundled_tables(name: str, rows: int, features: int, classes: int | None) -> None:
    raw = load_raw(name)
    assert raw.x.shape == (rows, features) and raw.kind == "tabular"
    assert len(raw.features) == features
    assert (len(raw.classes) if raw.classes else None) == classes
    assert raw.task == ("regression" if classes is None else "classification")


def test_digits_are_scaled_to_bytes(digits_raw) -> None:
    assert digits_raw.x.shape == (1797, 1, 8, 8) and digits_raw.x.max() == 255
    assert not digits_raw.has_official_test


def test_every_entry_describes_itself() -> None:
    for entry in catalog().values():
        described = entry.to_json()
        assert all(described[key] for key in ("task", "kind", "size", "license", "source"))


def test_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(DatasetNotFound, match="unknown dataset 'mnits' \\(did you mean 'mnist'"):
        catalog_entry("mnits")
