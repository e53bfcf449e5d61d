"""Pieces every preparation shares: split sizes, input scaling, targets, subsets, records."""

from __future__ import annotations

from collections.abc import Mapping, Sized
from typing import Any

import numpy as np
import torch

from athanor.data.batching import TensorSplit
from athanor.data.preprocessing import IMAGENET_MEAN, IMAGENET_STD, MinMax, Standardize, Step
from athanor.data.raw import RawDataset
from athanor.data.series import WindowIndex
from athanor.data.splits import fingerprint, resolve_size, subset_indices
from athanor.errors import DataError
from athanor.spec.data import DataSpec

MIN_TRAINING_SAMPLES = 2
"""Fewest training samples a preparation accepts (one sample has no statistics to fit)."""

Pools = dict[str, tuple[Any, np.ndarray]]
"""Inputs and targets of each split before preprocessing (arrays, tables or images)."""


SMALL_PART = 5
"""Fewer held-out samples than this make a part's metrics mostly chance: say so."""


def split_sizes(spec: DataSpec, total: int, with_test: bool) -> dict[str, int]:
    """Samples of the validation (and test) parts of ``total`` that ``data.split`` asks for.

    A share of 0 (``data.split: none``) leaves that part out.

    Raises:
        DataError: the parts leave fewer than :data:`MIN_TRAINING_SAMPLES` to train on.
    """
    sizes = {}
    if spec.split.val != 0:
        sizes["val"] = resolve_size(spec.split.val, total, "val")
    if with_test and spec.split.test != 0:
        sizes["test"] = resolve_size(spec.split.test, total, "test")
    left = total - sum(sizes.values())
    if left < MIN_TRAINING_SAMPLES:
        parts = " + ".join(f"{name} ({count})" for name, count in sizes.items())
        what = "no training samples" if left <= 0 else f"only {left} training sample"
        raise DataError(
            f"data.split: {parts} leave {what} of {total}; training needs at least "
            f"{MIN_TRAINING_SAMPLES}: lower data.split.val/test (e.g. 0.1) or use more data"
        )
    return sizes


def split_warnings(name: str, total: int, sizes: Mapping[str, int]) -> list[str]:
    """What a user should know about the split of ``total`` samples into ``sizes``.

    Nothing held out means no validation metrics, no early stopping or best-epoch choice on
    them and no test evaluation; held-out parts of a few samples give metrics of little
    meaning (a 4-row table split 2/1/1).
    """
    if not sizes:
        return [
            f"data.split: none: training on all {total:,} samples of '{name}'; nothing is held "
            "out, so there are no validation metrics (no early stopping or best epoch on them) "
            "and no test evaluation: the training metrics say how well the model fits, not how "
            "well it generalizes"
        ]
    small = {part: count for part, count in sizes.items() if count < SMALL_PART}
    if not small:
        return []
    parts = ", ".join(f"{part} {count}" for part, count in sizes.items())
    left = total - sum(sizes.values())
    return [
        f"data.split: '{name}' has only {total:,} samples, split into train {left}, {parts}; "
        f"metrics on fewer than {SMALL_PART} samples mean little: train on everything with "
        "data.split: none, or use more data"
    ]


def check_classes(y: np.ndarray, classes: list[str] | None, where: str) -> None:
    """Refuse classification targets of fewer than two classes.

    Args:
        y: class indices.
        classes: the class names (for the message).
        where: what holds the targets, for the message (``the training split of 'iris'``).

    Raises:
        DataError: naming the one class present and what would be valid.
    """
    present = np.unique(np.asarray(y))
    if len(present) >= 2:
        return
    names = [classes[int(i)] if classes and int(i) < len(classes) else str(i) for i in present]
    found = f"only the class '{names[0]}'" if names else "no classes"
    raise DataError(
        f"{where} has {found}; classification needs at least 2 classes: choose a target "
        "column with several values (data.target), add samples of other classes, or use "
        "data.task: regression for numbers"
    )


def scaler(normalize: str, per: str, task: str | None = None) -> list[Step]:
    """The input scaling step ``data.normalize`` names, per ``channel``/``column``/``feature``."""
    if normalize == "auto":
        normalize = "symmetric" if task == "generation" else "standard"
    if normalize == "standard":
        return [Standardize(per=per)]
    if normalize == "imagenet":
        if per != "channel":
            raise DataError(
                "data.normalize: imagenet is for images; valid here: auto, "
                "standard, minmax, symmetric, none"
            )
        return [Standardize(per=per, mean=list(IMAGENET_MEAN), std=list(IMAGENET_STD), fixed=True)]
    if normalize in ("minmax", "symmetric"):
        return [MinMax(per=per, symmetric=normalize == "symmetric")]
    return []


def split_record(
    seed: int,
    method: str,
    official: bool,
    splits: Mapping[str, Sized],
    parts: dict[str, np.ndarray],
) -> dict[str, Any]:
    """The ``split`` entry of a run's data record: seed, method, sizes and fingerprints.

    Args:
        official: whether the test split is the dataset's own.
        splits: the prepared splits (their sizes are recorded).
        parts: the indices each split was drawn from (their fingerprints are recorded).
    """
    return {
        "split": {
            "seed": seed,
            "method": method,
            "official_test": official,
            "sizes": {name: len(split) for name, split in splits.items()},
            "fingerprints": {name: fingerprint(index) for name, index in parts.items()},
        }
    }


def add_split_warnings(record: dict[str, Any], name: str, total: int, sizes: Mapping[str, int]):
    """Put :func:`split_warnings` into a data record's ``warnings`` (when there are any)."""
    found = split_warnings(name, total, sizes)
    if found:
        record.setdefault("warnings", []).extend(found)
    return record


def as_targets(task: str, y: np.ndarray) -> torch.Tensor:
    """Class indices (``int64 [N]``) or regression targets (``float32 [N, T]``)."""
    if task == "classification":
        return torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64))
    values = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))
    return values.reshape(len(values), -1)


def split_pools(raw: RawDataset, parts: dict[str, np.ndarray], spec: DataSpec, seed: int) -> Pools:
    """The samples of each part of ``raw`` and of its official test split, if any, keeping
    a seeded random subset of each where ``data.subset`` asks."""
    pools: Pools = {name: (raw.x[index], raw.y[index]) for name, index in parts.items()}
    if raw.has_official_test:
        pools["test"] = (raw.x_test, raw.y_test)  # type: ignore[assignment]
    sizes = {name: len(x) for name, (x, _) in pools.items()}
    for name, chosen in subset_indices(sizes, spec.subset, seed).items():
        x, y = pools[name]
        pools[name] = (x[chosen], y[chosen])
    kept = len(pools["train"][1])
    if kept < MIN_TRAINING_SAMPLES:
        raise DataError(
            f"data.subset: keeps {kept} training sample(s) of '{raw.name}'; training needs at "
            f"least {MIN_TRAINING_SAMPLES}: raise data.subset or lower data.split.val/test"
        )
    return pools


def subset_splits(
    splits: dict[str, TensorSplit], windows: dict[str, WindowIndex], spec: DataSpec, seed: int
) -> tuple[dict[str, TensorSplit], dict[str, WindowIndex]]:
    """Keep a seeded random subset of each split's samples (``data.subset``), windows alike.

    Preprocessing was fitted before, on the whole training part.
    """
    sizes = {name: len(split) for name, split in splits.items()}
    for name, chosen in subset_indices(sizes, spec.subset, seed).items():
        index = torch.from_numpy(chosen)
        splits[name] = TensorSplit(splits[name].x[index], splits[name].y[index])
        if name in windows:
            windows[name] = windows[name].take(chosen)
    return splits, windows
