"""The entry of data preparation: :func:`prepare` and what it returns, :class:`Prepared`.

:func:`prepare` loads the dataset a spec names and hands it to the preparation registered
for the dataset's kind (see :func:`preparer`); the modules beside this one register them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from athanor.data.augment import Augmenter, augment_batch, augmentation_active
from athanor.data.batching import (
    AugmentedBatches,
    BatchSource,
    LazySplit,
    StreamingBatches,
    TensorBatches,
    TensorSplit,
)
from athanor.data.class_selection import select_classes
from athanor.data.preprocessing import Preprocessor
from athanor.data.raw import RawDataset
from athanor.data.schema import Schema
from athanor.data.series import WindowIndex
from athanor.settings import Settings
from athanor.spec.data import DataSpec


@dataclass
class Prepared:
    """Train / validation / test data, what it means, and how inputs were transformed.

    The preprocessor was fitted on ``train`` alone; ``test`` is never used by training.
    Splits are tensors (:class:`TensorSplit`) or, when streamed, :class:`LazySplit`.
    ``windows`` (sequence datasets) says where each window of each split lies in the series,
    with labeled anomalies where the dataset has them (see :class:`WindowIndex`).
    """

    train: TensorSplit | LazySplit
    val: TensorSplit | LazySplit | None
    test: TensorSplit | LazySplit | None
    schema: Schema
    preprocessor: Preprocessor
    record: dict[str, Any] = field(default_factory=dict)
    """Dataset, origin of its files and the exact split (sizes, seed, fingerprints)."""
    augment: dict[str, Any] | None = None
    """Image augmentation applied to training batches (``data.image.augment``)."""
    augmenter: Augmenter = augment_batch
    """Applies ``augment`` to a batch; detection moves the boxes with the pixels."""
    windows: dict[str, WindowIndex] = field(default_factory=dict)
    sessions: dict[str, Any] = field(default_factory=dict)
    """Logs: the sessions of each split (:class:`~athanor.data.log_sessions.LogSessions`),
    scored as wholes after training (the test split holds the anomalous ones)."""
    workers: int = 0
    _on_device: dict[tuple[str, str], TensorSplit] = field(default_factory=dict, repr=False)

    def batches(
        self,
        split: str,
        batch_size: int,
        *,
        shuffle: bool = False,
        seed: int = 0,
        device: torch.device | str = "cpu",
    ) -> BatchSource:
        """A batch source over ``split`` (``train``, ``val`` or ``test``) on ``device``.

        In-memory splits are moved to the device once and sliced by index; streamed splits
        are read by DataLoader workers. Training batches are augmented when the spec asks.

        Raises:
            ValueError: the split does not exist in this dataset.
        """
        data = getattr(self, split, None) if split in ("train", "val", "test") else None
        if data is None:
            raise ValueError(f"this dataset has no {split} split")
        augment = self.augment if split == "train" and augmentation_active(self.augment) else None
        if isinstance(data, LazySplit):
            return StreamingBatches(
                data,
                batch_size,
                shuffle=shuffle,
                seed=seed,
                workers=self.workers,
                device=device,
                augment=augment,
                augmenter=self.augmenter,
            )
        key = (split, str(torch.device(device)))
        if key not in self._on_device:
            self._on_device[key] = data.to(device)
        batches = TensorBatches(self._on_device[key], batch_size, shuffle=shuffle, seed=seed)
        if not augment:
            return batches
        return AugmentedBatches(batches, augment, seed, augmenter=self.augmenter)

    def class_counts(self) -> list[int] | None:
        """Training samples per class (classification with labels in memory), else None."""
        train = self.train
        if self.schema.task != "classification" or not isinstance(train, TensorSplit):
            return None
        counts = torch.bincount(train.y.reshape(-1).cpu(), minlength=len(self.schema.classes or []))
        return counts.tolist()

    def size(self, split: str) -> int:
        """Samples in ``split`` (0 when it does not exist)."""
        data = getattr(self, split, None) if split in ("train", "val", "test") else None
        return 0 if data is None else len(data)


Preparer = Callable[[RawDataset, DataSpec, int], Prepared]
"""Prepares a loaded dataset for a data spec with the run's split seed."""

_PREPARERS: dict[str, Preparer] = {}
_TASK_PREPARERS: dict[tuple[str, str], Preparer] = {}


def preparer(*kinds: str, task: str | None = None) -> Callable[[Preparer], Preparer]:
    """Register the decorated function as the preparation of datasets of ``kinds``.

    Args:
        kinds: values of :attr:`RawDataset.kind` (``image``, ``tabular``, ...).
        task: only for datasets of this task (``detection``); it wins over the kind's own.
    """

    def register(function: Preparer) -> Preparer:
        for kind in kinds:
            if task is None:
                _PREPARERS[kind] = function
            else:
                _TASK_PREPARERS[(kind, task)] = function
        return function

    return register


def load_raw(name: str, settings: Settings | None = None, **options: Any) -> RawDataset:
    """The raw dataset called ``name``: a catalog entry or an imported ``NAME[@VERSION]``."""
    from athanor.data.versions import load_dataset

    return load_dataset(name, settings, **options)


def prepare(
    spec: DataSpec,
    seed: int,
    *,
    settings: Settings | None = None,
    raw: RawDataset | None = None,
) -> Prepared:
    """Load the dataset of ``spec``, split it, fit preprocessing on train, transform all.

    Args:
        spec: the data section of a run spec.
        seed: the run's seed (``spec.split.seed`` wins when set).
        settings: where mirrors, caches and imported datasets are (default: the environment).
        raw: an already loaded dataset to use instead of loading ``spec.dataset``.

    Raises:
        DataError: the dataset cannot be loaded, split or prepared as asked.
    """
    if raw is None:
        raw = load_raw(spec.dataset, settings, series=spec.series)
    if spec.classes is not None:
        table_task = spec.task if spec.task in ("classification", "regression") else None
        raw = select_classes(raw.with_target(spec.target, table_task), spec.classes)  # type: ignore[arg-type]
    task = spec.task or raw.task
    prepare_kind = _TASK_PREPARERS.get((raw.kind, task)) or _PREPARERS[raw.kind]
    prepared = prepare_kind(raw, spec, spec.split.seed if spec.split.seed is not None else seed)
    prepared.record = {
        "dataset": raw.name,
        "version": raw.version,
        "origin": raw.origin,
        **({"classes": list(raw.classes or [])} if spec.classes is not None else {}),
        **prepared.record,
    }
    return prepared
