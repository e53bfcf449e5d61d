"""Seeded splits: disjoint, complete, reproducible, stratified when asked."""

from __future__ import annotations

import numpy as np
import pytest

from athanor.data.splits import fingerprint, resolve_size, split_indices
from athanor.errors import DataError


def test_random_split_is_a_seeded_partition() -> None:
    parts = split_indices(1000, {"val": 100, "test": 200}, seed=3)
    assert {k: len(v) for k, v in parts.items()} == {"val": 100, "test": 200, "train": 700}
    joined = np.concatenate(list(parts.values()))
    assert np.array_equal(np.sort(joined), np.arange(1000))
    again = split_indices(1000, {"val": 100, "test": 200}, seed=3)
    assert all(np.array_equal(parts[k], again[k]) for k in parts)
    other = split_indices(1000, {"val": 100, "test": 200}, seed=4)
    assert fingerprint(other["val"]) != fingerprint(parts["val"])


def test_stratified_split_keeps_class_proportions() -> None:
    labels = np.array([0] * 900 + [1] * 90 + [2] * 10)
    parts = split_indices(1000, {"val": 100}, seed=0, labels=labels)
    counts = np.bincount(labels[parts["val"]], minlength=3)
    assert counts.tolist() == [90, 9, 1]  # a random split would often miss class 2
    assert np.bincount(labels[parts["train"]]).tolist() == [810, 81, 9]


def test_sizes_as_fractions_or_counts() -> None:
    assert resolve_size(0.1, 1797, "val") == 180
    assert resolve_size(50, 1797, "val") == 50
    with pytest.raises(DataError, match="data.split.val asks for 2000 of 1797"):
        resolve_size(2000, 1797, "val")
