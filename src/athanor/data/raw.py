"""A dataset as loaded from its source, before splitting and preprocessing."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from athanor.data.schema import InputKind, Task


@dataclass
class RawDataset:
    """Arrays of a dataset and what they mean.

    Images are ``uint8`` arrays ``[N, C, H, W]``; tables are ``float32`` arrays ``[N, F]``.
    Class targets are ``int64`` indices into ``classes``; regression targets ``float32``.
    ``x_test``/``y_test`` hold an official test split when the dataset has one.
    """

    name: str
    kind: InputKind
    task: Task
    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    classes: list[str] | None = None
    features: list[str] | None = None
    target: str = "label"
    origin: dict[str, str] = field(default_factory=dict)
    """Where each file came from (path or 'bundled with ...'), for the run record."""

    @property
    def has_official_test(self) -> bool:
        return self.x_test is not None
