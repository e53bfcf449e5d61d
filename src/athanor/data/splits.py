"""Seeded train / validation / test splits: random or stratified, by fraction or count."""

from __future__ import annotations

import hashlib

import numpy as np

from athanor.errors import DataError


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


def fingerprint(indices: np.ndarray) -> str:
    """A short hash of an index set: two runs with the same split print the same value."""
    return hashlib.sha256(np.ascontiguousarray(indices, dtype=np.int64).tobytes()).hexdigest()[:16]
