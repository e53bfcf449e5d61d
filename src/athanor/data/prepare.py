"""From a data spec to tensors ready for training: load, split, fit preprocessing, transform."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from athanor.data.batching import BatchSource, TensorBatches, TensorSplit
from athanor.data.catalog import catalog_entry
from athanor.data.preprocessing import Preprocessor, default_preprocessor
from athanor.data.raw import RawDataset
from athanor.data.schema import InputSchema, Schema
from athanor.data.splits import fingerprint, resolve_size, split_indices
from athanor.errors import DataError
from athanor.settings import Settings
from athanor.spec.data import DataSpec


@dataclass
class Prepared:
    """Train / validation / test tensors, what they mean, and how inputs were transformed.

    The preprocessor was fitted on ``train`` alone; ``test`` is never used by training.
    """

    train: TensorSplit
    val: TensorSplit | None
    test: TensorSplit | None
    schema: Schema
    preprocessor: Preprocessor
    record: dict[str, Any] = field(default_factory=dict)
    """Dataset, origin of its files and the exact split (sizes, seed, fingerprints)."""

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

        Raises:
            ValueError: the split does not exist in this dataset.
        """
        data = getattr(self, split, None)
        if data is None:
            raise ValueError(f"this dataset has no {split} split")
        return TensorBatches(data.to(device), batch_size, shuffle=shuffle, seed=seed)

    def class_counts(self) -> list[int] | None:
        """Training samples per class (classification with labels in memory), else None."""
        train = self.train
        if self.schema.task != "classification" or not isinstance(train, TensorSplit):
            return None
        counts = torch.bincount(train.y.reshape(-1).cpu(), minlength=len(self.schema.classes or []))
        return counts.tolist()

    def size(self, split: str) -> int:
        """Samples in ``split`` (0 when it does not exist)."""
        data = getattr(self, split, None)
        return 0 if data is None else len(data)


def load_raw(name: str, settings: Settings | None = None) -> RawDataset:
    """The raw dataset called ``name`` (a catalog entry)."""
    return catalog_entry(name).load(settings)


def image_background(images: np.ndarray) -> str:
    """``dark`` or ``light``: the mean brightness of the images' border pixels (uint8 scale)."""
    border = np.concatenate(
        [
            images[:, :, 0, :].ravel(),
            images[:, :, -1, :].ravel(),
            images[:, :, :, 0].ravel(),
            images[:, :, :, -1].ravel(),
        ]
    )
    scale = 1.0 if images.dtype == np.uint8 else 255.0
    return "light" if float(border.mean()) * scale > 127.5 else "dark"


def _targets(raw: RawDataset, y: np.ndarray) -> torch.Tensor:
    if raw.task == "classification":
        return torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64))
    values = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))
    return values.reshape(len(values), -1)


def _check(raw: RawDataset, spec: DataSpec) -> None:
    if spec.target is not None and spec.target != raw.target:
        raise DataError(
            f"data.target: dataset '{raw.name}' has the target '{raw.target}', not '{spec.target}'"
        )
    if raw.task == "regression" and not np.isfinite(raw.y).all():
        raise DataError(f"dataset '{raw.name}': the target '{raw.target}' has missing values")


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
        settings: where mirrors and caches are (default: the environment).
        raw: an already loaded dataset to use instead of loading ``spec.dataset``.

    Raises:
        DataError: the dataset cannot be loaded or split as asked.
    """
    raw = raw if raw is not None else load_raw(spec.dataset, settings)
    _check(raw, spec)
    split_seed = spec.split.seed if spec.split.seed is not None else seed
    classification = raw.task == "classification"
    stratify = spec.split.method == "stratified" or (spec.split.method == "auto" and classification)
    total = len(raw.x)
    sizes = {"val": resolve_size(spec.split.val, total, "val")}
    if not raw.has_official_test:
        sizes["test"] = resolve_size(spec.split.test, total, "test")
        if sizes["val"] + sizes["test"] >= total:
            raise DataError(
                f"data.split: val ({sizes['val']}) + test ({sizes['test']}) leave no training "
                f"samples of {total}"
            )
    parts = split_indices(
        total, sizes, seed=split_seed, labels=raw.y if stratify and classification else None
    )

    pools: dict[str, tuple[np.ndarray, np.ndarray]] = {
        name: (raw.x[index], raw.y[index]) for name, index in parts.items()
    }
    if raw.has_official_test:
        pools["test"] = (raw.x_test, raw.y_test)  # type: ignore[assignment]
    if spec.subset is not None:
        rng = np.random.default_rng(split_seed + 1)
        for name in ("train", "val", "test"):
            limit = getattr(spec.subset, name)
            if limit is not None and name in pools and limit < len(pools[name][0]):
                chosen = np.sort(rng.choice(len(pools[name][0]), size=limit, replace=False))
                pools[name] = (pools[name][0][chosen], pools[name][1][chosen])

    preprocessor = default_preprocessor(raw.kind, spec.normalize, raw.x.dtype)
    x_train = torch.from_numpy(np.ascontiguousarray(pools["train"][0]))
    preprocessor.fit(x_train)
    splits = {
        name: TensorSplit(preprocessor.transform(x), _targets(raw, y))
        for name, (x, y) in pools.items()
    }
    schema = Schema(
        task=raw.task,
        input=InputSchema(
            kind=raw.kind,
            shape=list(splits["train"].x.shape[1:]),
            features=raw.features,
            background=image_background(pools["train"][0]) if raw.kind == "image" else None,
        ),
        target=raw.target,
        classes=raw.classes,
        targets=1 if classification else int(splits["train"].y.shape[1]),
    )
    record = {
        "dataset": raw.name,
        "origin": raw.origin,
        "split": {
            "seed": split_seed,
            "method": "stratified" if stratify and classification else "random",
            "official_test": raw.has_official_test,
            "sizes": {name: len(split) for name, split in splits.items()},
            "fingerprints": {name: fingerprint(index) for name, index in parts.items()},
        },
    }
    return Prepared(
        train=splits["train"],
        val=splits.get("val"),
        test=splits.get("test"),
        schema=schema,
        preprocessor=preprocessor,
        record=record,
    )
