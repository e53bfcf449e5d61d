"""Seeded splits: disjoint, complete, reproducible, stratified when asked."""

from __future__ import annotations

import numpy as np
import pytest

from athanor.data.splits import fingerprint, resolve_size, split_indices, subset_indices
from athanor.errors import DataError
from athanor.spec.data import SubsetSpec


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


def test_subsets_are_seeded_sorted_and_only_for_splits_over_their_limit() -> None:
    sizes = {"train": 100, "val": 10, "test": 30}
    limits = SubsetSpec(train=20, val=50, test=5)
    chosen = subset_indices(sizes, limits, seed=3)
    assert sorted(chosen) == ["test", "train"]  # val holds fewer than its limit
    assert len(chosen["train"]) == 20 and len(chosen["test"]) == 5
    assert all(np.array_equal(np.unique(c), c) for c in chosen.values())  # sorted, distinct
    assert chosen["train"].max() < 100 and chosen["test"].max() < 30
    again = subset_indices(sizes, limits, seed=3)
    assert all(np.array_equal(chosen[k], again[k]) for k in chosen)
    # One generator draws train, then val, then test: a split's draw depends on the ones
    # before it, the same for every kind of data.
    rng = np.random.default_rng(4)
    assert np.array_equal(chosen["train"], np.sort(rng.choice(100, size=20, replace=False)))
    assert np.array_equal(chosen["test"], np.sort(rng.choice(30, size=5, replace=False)))
    assert subset_indices({"train": 100}, limits, seed=3).keys() == {"train"}
    assert subset_indices(sizes, None, seed=3) == {}
