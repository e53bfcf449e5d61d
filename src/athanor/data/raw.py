"""A dataset as loaded from its source, before splitting and preprocessing."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from athanor.data.schema import InputKind, Task

if TYPE_CHECKING:
    from athanor.data.images import ImageCollection


@dataclass
class RawDataset:
    """Arrays of a dataset and what they mean.

    By kind:

    - ``image``: ``x`` is ``uint8 [N, C, H, W]``, or an :class:`ImageCollection` when the
      images differ in size (they are resized when the dataset is prepared).
    - ``tabular``: ``x`` is ``float32 [N, F]``, or a :class:`TableData` of typed raw columns
      (categorical, boolean, datetime, missing values) that preprocessing encodes. A table
      that still holds its target column has ``y`` None until :meth:`with_target`.
    - ``sequence``: ``x`` is one time series ``float32 [T, F]`` (columns ``features``, one
      ``timestamps`` entry per step); ``targets`` names the columns to forecast. Windows are
      cut when the dataset is prepared. ``anomaly_windows`` holds labeled ``[start, end]``
      timestamp ranges where the source has them (NAB).
    - ``tokens``: a language model's corpus is ``text``, and ``x`` and ``y`` are empty until
      it is tokenized; a text classification dataset has ``x`` an object array of documents
      (strings) and ``y`` their class indices.
    - ``logs``: ``x`` is an object array of sessions, each an ``int64`` array of template
      keys (1, 2, ...); ``y`` their labels (0 normal, 1 anomalous; raw logs are all 0).

    Class targets are ``int64`` indices into ``classes``; regression targets ``float32``.
    ``x_test``/``y_test`` hold an official test split when the dataset has one.
    """

    name: str
    kind: InputKind
    task: Task
    x: Any
    y: np.ndarray | None
    x_test: Any = None
    y_test: np.ndarray | None = None
    classes: list[str] | None = None
    features: list[str] | None = None
    target: str = "label"
    origin: dict[str, str] = field(default_factory=dict)
    """Where each file came from (path or 'bundled with ...'), for the run record."""
    timestamps: np.ndarray | None = None
    """Sequences: ``datetime64[ns]`` (or float) position of each step of ``x``."""
    targets: list[str] | None = None
    """Sequences: the columns of ``x`` that forecasting predicts (default: all)."""
    anomaly_windows: list[tuple[str, str]] | None = None
    """Sequences: labeled anomaly ranges as ISO timestamps ``(start, end)``, inclusive."""
    text: str | None = None
    """Tokens: the whole corpus."""
    version: str | None = None
    """Imported datasets: the content hash of the version."""
    groups: np.ndarray | None = None
    """Per-sample group ids for group splits (set from a table column when asked)."""
    times: np.ndarray | None = None
    """Per-sample order keys for time-ordered splits (set from a table column when asked)."""
    log: dict[str, Any] | None = None
    """Logs: ``parsing`` (how raw lines became keys, see :mod:`athanor.data.log_parsing`;
    None for pre-parsed keys) and the session ``ids``."""

    @property
    def has_official_test(self) -> bool:
        return self.x_test is not None

    def __len__(self) -> int:
        return len(self.x)

    def with_target(self, target: str | None, task: Task | None = None) -> RawDataset:
        """This dataset with ``target`` as its target (tables that keep raw columns only).

        Raises:
            DataError: no such column, or values that cannot be that task's target.
        """
        from athanor.data.tables import TableData

        if not isinstance(self.x, TableData) or self.y is not None:
            return self
        chosen = target or self.target
        if not chosen:
            from athanor.errors import DataError

            raise DataError(
                f"dataset '{self.name}' has no default target; set data.target to one of its "
                f"columns: {', '.join(self.x.names)}"
            )
        features, y, classes, inferred = self.x.split_target(chosen, task, dataset=self.name)
        test_x = test_y = None
        if self.x_test is not None:
            test_x, test_y, _, _ = self.x_test.split_target(
                chosen, inferred, dataset=self.name, classes=classes
            )
        return replace(
            self,
            x=features,
            y=y,
            x_test=test_x,
            y_test=test_y,
            classes=classes,
            features=[c.name for c in features.columns],
            target=chosen,
            task=inferred,
        )


DENSE_IMAGE_BYTES = 2**30
"""Largest image collection (in bytes) made one dense array in memory; above it, images stay
on disk and are read one by one (streamed), so memory does not grow with the dataset."""


def collection_or_array(
    images: ImageCollection | np.ndarray, dense_limit: int = DENSE_IMAGE_BYTES
) -> ImageCollection | np.ndarray:
    """Images as a dense array when they share one size and take at most ``dense_limit``
    bytes (default :data:`DENSE_IMAGE_BYTES`), else the collection itself."""
    from athanor.data.images import ImageCollection

    if (
        isinstance(images, ImageCollection)
        and images.uniform
        and int(images.own_shapes.prod(axis=1).sum()) <= dense_limit
    ):
        return images.dense()
    return images
