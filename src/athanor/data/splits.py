"""Seeded train / validation / test splits: random, stratified, group or time-ordered."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np

from athanor.errors import DataError
from athanor.spec.data import SubsetSpec

SPLIT_NAMES = ("train", "val", "test")


def resolve_size(size: float | int, total: int, name: str) -> int:
    """A fraction of ``total`` (rounded) or a count, checked to leave training data."""
    count = round(size * total) if isinstance(size, float) else int(size)
    if count >= total:
        raise DataError(
            f"data.split.{name} asks for {count} of {total} samples, leaving none to train on"
        )
    return max(count, 1)


def split_indices(
    total: int,
    sizes: dict[str, int],
    *,
    seed: int,
    labels: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Partition ``range(total)`` into ``train`` plus the named parts of the given sizes.

    With ``labels`` the split is stratified: each part keeps the class proportions (largest
    remainder rounding), so a rare class is not lost from validation by chance.

    Returns:
        Sorted index arrays by part name, ``train`` holding the rest.
    """
    rng = np.random.default_rng(seed)
    if labels is None:
        order = rng.permutation(total)
        parts: dict[str, np.ndarray] = {}
        start = 0
        for name, count in sizes.items():
            parts[name] = np.sort(order[start : start + count])
            start += count
        parts["train"] = np.sort(order[start:])
        return parts

    classes, inverse = np.unique(labels, return_inverse=True)
    members = [rng.permutation(np.flatnonzero(inverse == c)) for c in range(len(classes))]
    counts = np.array([len(m) for m in members])
    taken = np.zeros(len(classes), dtype=np.int64)
    parts = {}
    for name, count in sizes.items():
        available = counts - taken
        share = available / available.sum() * count
        alloc = np.floor(share).astype(np.int64)
        remainder = count - alloc.sum()
        if remainder > 0:
            order = np.argsort(-(share - alloc), kind="stable")
            alloc[order[:remainder]] += 1
        alloc = np.minimum(alloc, available)
        parts[name] = np.sort(
            np.concatenate([m[t : t + a] for m, t, a in zip(members, taken, alloc, strict=True)])
        )
        taken += alloc
    parts["train"] = np.sort(np.concatenate([m[t:] for m, t in zip(members, taken, strict=True)]))
    return parts


def group_split_indices(
    groups: np.ndarray, sizes: dict[str, int], *, seed: int
) -> dict[str, np.ndarray]:
    """Like :func:`split_indices`, but every group's samples land in one part.

    Groups are shuffled (seeded) and dealt to the named parts until each holds at least its
    size in samples, so the sizes are approximate; ``train`` gets the remaining groups.

    Raises:
        DataError: too few groups to give every part one and leave some for training.
    """
    keys, inverse = np.unique(groups.astype(str), return_inverse=True)
    if len(keys) < len(sizes) + 1:
        raise DataError(
            f"data.split.group: {len(keys)} group(s) cannot fill {len(sizes)} split(s) plus "
            "training; a group split needs more groups"
        )
    order = np.random.default_rng(seed).permutation(len(keys))
    counts = np.bincount(inverse, minlength=len(keys))
    owner = np.full(len(keys), "train", dtype=object)
    position = 0
    for name, count in sizes.items():
        taken = 0
        while taken < count and position < len(order) - 1:
            owner[order[position]] = name
            taken += int(counts[order[position]])
            position += 1
    per_sample = owner[inverse]
    return {name: np.flatnonzero(per_sample == name) for name in [*sizes, "train"]}


def ordered_split_indices(keys: np.ndarray, sizes: dict[str, int]) -> dict[str, np.ndarray]:
    """Time-ordered parts: ``train`` first, then ``val``, then ``test`` (the latest samples).

    ``keys`` orders the samples (timestamps or any sortable values; ties keep input order).
    """
    order = np.argsort(keys, kind="stable")
    parts: dict[str, np.ndarray] = {}
    end = len(order)
    for name in ("test", "val"):
        if name in sizes:
            parts[name] = np.sort(order[end - sizes[name] : end])
            end -= sizes[name]
    parts["train"] = np.sort(order[:end])
    return parts


def subset_indices(
    sizes: Mapping[str, int], subset: SubsetSpec | None, seed: int
) -> dict[str, np.ndarray]:
    """The seeded random subset of each split that ``data.subset`` limits.

    One generator seeded ``seed + 1`` draws the splits in the order train, val, test, so
    the subsets depend only on the seed, the limits and the split sizes.

    Args:
        sizes: samples per split (splits that do not exist are absent).
        subset: the limits (``data.subset``); None keeps every sample.
        seed: the run's split seed.

    Returns:
        Sorted indices into each split larger than its limit; other splits are absent.
    """
    if subset is None:
        return {}
    rng = np.random.default_rng(seed + 1)
    chosen: dict[str, np.ndarray] = {}
    for name in SPLIT_NAMES:
        limit = getattr(subset, name)
        if limit is not None and name in sizes and limit < sizes[name]:
            chosen[name] = np.sort(rng.choice(sizes[name], size=limit, replace=False))
    return chosen


def fingerprint(indices: np.ndarray) -> str:
    """A short hash of an index set: two runs with the same split print the same value."""
    return hashlib.sha256(np.ascontiguousarray(indices, dtype=np.int64).tobytes()).hexdigest()[:16]
