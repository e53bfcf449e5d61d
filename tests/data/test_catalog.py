"""Catalog entries load the real files: shapes, classes and checksums."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from athanor.data.catalog import catalog, catalog_entry
from athanor.data.prepare import load_raw
from athanor.errors import DataError, DatasetNotFound

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


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_catalog_entry_is_registered() -> None:
    expected = {
        "mnist",
        "digits-detection",
        "fashion-mnist",
        "cifar10",
        "digits",
        "iris",
        "wine",
        "breast-cancer",
        "diabetes",
        "california-housing",
        "boston-housing",
        "sunspots",
        "co2",
        "tinyshakespeare",
        "nab",
        "xor",
        "and",
        "or",
        "hdfs-deeplog",
        "hdfs-2k",
    }
    assert set(catalog()) == expected


def test_house_price_tables_from_the_mirror(mirror) -> None:
    from athanor.data.sources.housing import BOSTON_HOUSING, CALIFORNIA_HOUSING
    from athanor.data.tables import TableData

    california = load_raw("california-housing")
    assert isinstance(california.x, TableData) and len(california.x) == 20_640
    types = {c.name: c.type for c in california.x.columns}
    assert types["ocean_proximity"] == "categorical" and types["total_bedrooms"] == "numeric"
    assert california.x.missing_counts()["total_bedrooms"] == 207
    assert _sha256(mirror / "california-housing" / "housing.csv") == CALIFORNIA_HOUSING.digest
    boston = load_raw("boston-housing").with_target(None)
    assert boston.x.names[-1] == "lstat" and len(boston.y) == 506 and boston.task == "regression"
    assert boston.y.mean() == pytest.approx(22.5328, abs=1e-3)
    assert _sha256(mirror / "boston-housing" / "BostonHousing.csv") == BOSTON_HOUSING.digest


def test_series_and_text_entries(mirror) -> None:
    from athanor.data.sources.nab import LABELS, SERIES_SHA256
    from athanor.data.sources.tinyshakespeare import TINY_SHAKESPEARE

    sunspots = load_raw("sunspots")
    assert sunspots.x.shape == (309, 1) and str(sunspots.timestamps[0])[:4] == "1700"
    co2 = load_raw("co2")
    assert co2.x.shape == (2284, 1) and np.isfinite(co2.x).all()
    text = load_raw("tinyshakespeare")
    assert len(text.text) == 1_115_394 and len(set(text.text)) == 65
    assert text.text.startswith("First Citizen:")
    assert _sha256(mirror / "tinyshakespeare" / "input.txt") == TINY_SHAKESPEARE.digest
    nab = load_raw("nab")
    assert nab.x.shape == (10_320, 1) and len(nab.anomaly_windows) == 5
    taxi = load_raw("nab", series="machine_temperature_system_failure")
    assert taxi.x.shape == (22_695, 1) and len(taxi.anomaly_windows) == 4
    for name, digest in SERIES_SHA256.items():
        assert _sha256(mirror / "nab" / "realKnownCause" / f"{name}.csv") == digest
    assert _sha256(mirror / "nab" / "labels" / "combined_windows.json") == LABELS.digest
    with pytest.raises(DataError, match="NAB has no realKnownCause series 'taxi'"):
        load_raw("nab", series="taxi")
