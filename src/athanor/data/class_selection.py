"""Keeping some classes of a labelled dataset (``data.classes``), relabelled 0..k-1.

A network trained on digits 0-4 and another trained on 5-9 from its features is the smallest
honest transfer-learning experiment: the second task's classes were never seen by the first.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from athanor.data.raw import RawDataset
from athanor.errors import DataError


class UnknownClassError(DataError):
    """``data.classes`` names a class the dataset does not have."""


def class_indices(raw: RawDataset, wanted: list[int | str]) -> list[int]:
    """The indices into ``raw.classes`` of ``wanted`` (class names, or indices as integers).

    Raises:
        DataError: the dataset has no classes (not classification), or a class is named twice.
        UnknownClassError: a name or index the dataset does not have, listing the valid ones.
    """
    classes = raw.classes
    if raw.task != "classification" or not classes or raw.y is None:
        raise DataError(
            f"data.classes: '{raw.name}' is not a classification dataset with class labels "
            f"(its task is {raw.task}); remove data.classes"
        )
    chosen: list[int] = []
    for position, value in enumerate(wanted):
        if isinstance(value, bool):  # YAML's yes/no are not class names
            value = str(value).lower()
        if isinstance(value, int):
            index = value if 0 <= value < len(classes) else None
        else:
            index = classes.index(value) if value in classes else None
        if index is None:
            shown = ", ".join(classes[:20]) + (" ..." if len(classes) > 20 else "")
            raise UnknownClassError(
                f"data.classes[{position}]: '{raw.name}' has no class {value!r}; its classes "
                f"are {shown} (a name, or an index 0..{len(classes) - 1})"
            )
        if index in chosen:
            raise DataError(f"data.classes[{position}]: the class '{classes[index]}' is twice")
        chosen.append(index)
    return chosen


def select_classes(raw: RawDataset, wanted: list[int | str]) -> RawDataset:
    """``raw`` with only the samples of ``wanted``'s classes, their labels renumbered 0..k-1
    in the order given (the class names are kept: digits 5-9 stay '5'..'9').

    Raises:
        DataError, UnknownClassError: see :func:`class_indices`.
    """
    chosen = class_indices(raw, wanted)
    assert raw.classes is not None and raw.y is not None
    relabel = np.full(len(raw.classes), -1, dtype=np.int64)
    relabel[chosen] = np.arange(len(chosen))

    def keep(x: object, y: np.ndarray) -> tuple[object, np.ndarray]:
        rows = np.flatnonzero(relabel[np.asarray(y, dtype=np.int64)] >= 0)
        return x[rows], relabel[np.asarray(y, dtype=np.int64)[rows]]  # type: ignore[index]

    x, y = keep(raw.x, raw.y)
    extra: dict[str, object] = {}
    for name in ("groups", "times"):
        values = getattr(raw, name)
        if values is not None:
            extra[name] = values[np.flatnonzero(relabel[np.asarray(raw.y, dtype=np.int64)] >= 0)]
    x_test = y_test = None
    if raw.x_test is not None and raw.y_test is not None:
        x_test, y_test = keep(raw.x_test, raw.y_test)
    return replace(
        raw,
        x=x,
        y=y,
        x_test=x_test,
        y_test=y_test,
        classes=[raw.classes[index] for index in chosen],
        **extra,  # type: ignore[arg-type]
    )
