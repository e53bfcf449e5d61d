"""From a data spec to tensors ready for training: load, split, fit preprocessing, transform.

Each input kind has its preparation: samples (images, tables) are split by sample; a time
series is split by time and cut into windows; a text corpus is split by position, tokenized
with a vocabulary of its training part and cut into language-model windows; labeled
documents are split by class, tokenized with a vocabulary of the training documents and
padded or cut to one length. Every fitted
statistic (scaling, imputation, categories, vocabulary) comes from the training split only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from athanor.data.augment import augmentation_active
from athanor.data.batching import (
    AugmentedBatches,
    BatchSource,
    LazySplit,
    StreamingBatches,
    TensorBatches,
    TensorSplit,
)
from athanor.data.images import ImageCollection, fit_image
from athanor.data.preprocessing import (
    MinMax,
    Preprocessor,
    Standardize,
    Step,
    TargetStandardize,
    ToFloat,
)
from athanor.data.raw import RawDataset
from athanor.data.schema import ColumnSchema, InputSchema, Schema
from athanor.data.series import WindowIndex, anomaly_steps, cut_windows, window_starts
from athanor.data.splits import (
    fingerprint,
    group_split_indices,
    ordered_split_indices,
    resolve_size,
    split_indices,
)
from athanor.data.tables import TableData
from athanor.errors import DataError
from athanor.settings import Settings
from athanor.spec.data import DataSpec

LM_LENGTH = 64
"""Tokens per language-model sample when ``data.text.length`` is not set."""
STREAM_FIT_SAMPLES = 4096
"""Training images sampled (seeded) to fit scaling when a split is streamed."""


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
    windows: dict[str, WindowIndex] = field(default_factory=dict)
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
            )
        key = (split, str(torch.device(device)))
        if key not in self._on_device:
            self._on_device[key] = data.to(device)
        batches = TensorBatches(self._on_device[key], batch_size, shuffle=shuffle, seed=seed)
        return AugmentedBatches(batches, augment, seed) if augment else batches

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


def load_raw(name: str, settings: Settings | None = None, **options: Any) -> RawDataset:
    """The raw dataset called ``name``: a catalog entry or an imported ``NAME[@VERSION]``."""
    from athanor.data.versions import load_dataset

    return load_dataset(name, settings, **options)


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
    preparer = _PREPARERS[raw.kind]
    prepared = preparer(raw, spec, spec.split.seed if spec.split.seed is not None else seed)
    prepared.record = {
        "dataset": raw.name,
        "version": raw.version,
        "origin": raw.origin,
        **prepared.record,
    }
    return prepared


# -- shared pieces ---------------------------------------------------------------------


def _sizes(spec: DataSpec, total: int, with_test: bool) -> dict[str, int]:
    sizes = {"val": resolve_size(spec.split.val, total, "val")}
    if with_test:
        sizes["test"] = resolve_size(spec.split.test, total, "test")
        if sizes["val"] + sizes["test"] >= total:
            raise DataError(
                f"data.split: val ({sizes['val']}) + test ({sizes['test']}) leave no training "
                f"samples of {total}"
            )
    return sizes


def _scaler(normalize: str, per: str, task: str | None = None) -> list[Step]:
    if normalize == "auto":
        normalize = "symmetric" if task == "generation" else "standard"
    if normalize == "standard":
        return [Standardize(per=per)]
    if normalize in ("minmax", "symmetric"):
        return [MinMax(per=per, symmetric=normalize == "symmetric")]
    return []


def _split_record(
    seed: int, method: str, official: bool, sizes: dict[str, int], parts: dict[str, np.ndarray]
) -> dict[str, Any]:
    return {
        "split": {
            "seed": seed,
            "method": method,
            "official_test": official,
            "sizes": sizes,
            "fingerprints": {name: fingerprint(index) for name, index in parts.items()},
        }
    }


# -- samples: images and tables --------------------------------------------------------


def _check_task(raw: RawDataset, spec: DataSpec) -> str:
    task = spec.task or raw.task
    if task == "generation" and raw.kind != "image":
        raise DataError(f"data.task: generation needs images; '{raw.name}' is {raw.kind}")
    if task in ("classification", "regression") and task != raw.task:
        raise DataError(
            f"data.task: '{raw.name}' is a {raw.task} dataset; {task} applies to tables with "
            "a suitable target column"
        )
    return task


def _split_keys(raw: RawDataset, spec: DataSpec, column: str) -> tuple[np.ndarray, RawDataset]:
    """A table column's values for group/time splits, and the dataset without that column."""
    if not isinstance(raw.x, TableData):
        raise DataError(
            f"data.split.{column}: '{raw.name}' is not a table with named columns; use "
            "method random, stratified or time"
        )
    name = getattr(spec.split, column)
    table = raw.x
    table.column(name)
    keys = table.values[name]
    if column == "group":
        from dataclasses import replace

        dropped = table.drop([name])
        return keys, replace(raw, x=dropped, features=dropped.names)
    return keys, raw


def _prepare_samples(raw: RawDataset, spec: DataSpec, seed: int) -> Prepared:
    table_task = spec.task if spec.task in ("classification", "regression") else None
    raw = raw.with_target(spec.target, table_task)  # type: ignore[arg-type]
    if spec.target is not None and spec.target != raw.target:
        raise DataError(
            f"data.target: dataset '{raw.name}' has the target '{raw.target}', not '{spec.target}'"
        )
    if raw.y is None or (isinstance(raw.x, TableData) and not raw.target):
        columns = ", ".join(raw.x.names) if isinstance(raw.x, TableData) else ""
        raise DataError(
            f"dataset '{raw.name}' has no default target; set data.target (columns: {columns})"
        )
    if raw.task == "regression" and not np.isfinite(raw.y).all():
        raise DataError(f"dataset '{raw.name}': the target '{raw.target}' has missing values")
    task = _check_task(raw, spec)
    classification = task == "classification"

    method = spec.split.method
    keys = None
    if method == "group":
        keys, raw = _split_keys(raw, spec, "group")
    elif method == "time" and spec.split.time:
        keys, raw = _split_keys(raw, spec, "time")
    total = len(raw.x)
    sizes = _sizes(spec, total, not raw.has_official_test)
    if method == "auto":
        method = "stratified" if classification else "random"
    if method == "stratified" and not classification:
        method = "random"
    if method == "group":
        parts = group_split_indices(keys, sizes, seed=seed)  # type: ignore[arg-type]
    elif method == "time":
        parts = ordered_split_indices(keys if keys is not None else np.arange(total), sizes)
    else:
        labels = raw.y if method == "stratified" else None
        parts = split_indices(total, sizes, seed=seed, labels=labels)

    pools: dict[str, tuple[Any, np.ndarray]] = {
        name: (raw.x[index], raw.y[index]) for name, index in parts.items()
    }
    if raw.has_official_test:
        pools["test"] = (raw.x_test, raw.y_test)  # type: ignore[assignment]
    if spec.subset is not None:
        rng = np.random.default_rng(seed + 1)
        for name in ("train", "val", "test"):
            limit = getattr(spec.subset, name)
            if limit is not None and name in pools and limit < len(pools[name][0]):
                chosen = np.sort(rng.choice(len(pools[name][0]), size=limit, replace=False))
                pools[name] = (pools[name][0][chosen], pools[name][1][chosen])

    image_options: dict[str, Any] = {}
    loaders: dict[str, Callable[[np.ndarray], Any]] = {}
    if raw.kind == "image":
        pools, loaders, image_options = _sized_images(pools, spec, seed)
        steps: list[Step] = [ToFloat(1 / 255), *_scaler(spec.normalize, "channel", task)]
    elif isinstance(raw.x, TableData):
        from athanor.data.encoding import TableEncoder

        encoder = TableEncoder(
            [c.model_dump() for c in raw.x.columns],
            impute=spec.table.impute,
            categorical=spec.table.categorical,
            max_categories=spec.table.max_categories,
        )
        steps = [encoder, *_scaler(spec.normalize, "column")]
    else:
        scale = 1 / 255 if raw.x.dtype == np.uint8 else 1.0
        steps = [ToFloat(scale), *_scaler(spec.normalize, "column")]

    y_train_raw = _targets(task, pools["train"][1])
    scale_target = task == "regression" and spec.scale_target == "standard"
    if scale_target:
        steps.append(TargetStandardize())
    preprocessor = Preprocessor(steps)
    if loaders:  # streamed: fit on a seeded sample of training images
        count = len(pools["train"][1])
        rng = np.random.default_rng(seed + 2)
        sample = np.sort(rng.choice(count, size=min(count, STREAM_FIT_SAMPLES), replace=False))
        preprocessor.fit(loaders["train"](sample), y_train_raw)
    else:
        preprocessor.fit(_as_input(pools["train"][0]), y_train_raw)

    splits: dict[str, TensorSplit | LazySplit] = {}
    for name, (x, y) in pools.items():
        targets = _targets(task, y)
        if scale_target and targets is not None:
            targets = preprocessor.transform_target(targets)
        if loaders:
            splits[name] = LazySplit(
                loaders[name],
                None if task == "reconstruction" else _generation_safe(task, targets, len(y)),
                preprocessor.transform,
                len(y),
            )
            continue
        inputs = preprocessor.transform(_as_input(x))
        if task == "reconstruction":
            splits[name] = TensorSplit(inputs, inputs)
        else:
            splits[name] = TensorSplit(inputs, _generation_safe(task, targets, len(inputs)))

    encoder_step = steps[0] if isinstance(raw.x, TableData) else None
    if loaders:
        shape = [image_options["channels"], *image_options["size"]]
    else:
        shape = list(splits["train"].x.shape[1:])  # type: ignore[union-attr]
    schema = Schema(
        task=task,  # type: ignore[arg-type]
        input=InputSchema(
            kind=raw.kind,
            shape=shape,
            features=encoder_step.features if encoder_step is not None else raw.features,  # type: ignore[attr-defined]
            columns=(
                [ColumnSchema(**c) for c in encoder_step.columns]  # type: ignore[attr-defined]
                if encoder_step is not None
                else None
            ),
            background=image_options.get("background") if raw.kind == "image" else None,
        ),
        target=raw.target,
        classes=raw.classes if classification else None,
        targets=int(y_train_raw.shape[1]) if task == "regression" else 1,
        target_names=[raw.target] if task == "regression" else None,
    )
    record = _split_record(
        seed,
        method,
        raw.has_official_test,
        {name: len(split) for name, split in splits.items()},
        parts,
    )
    record["task"] = task
    record["batching"] = "stream" if loaders else "memory"
    if image_options:
        record["image"] = {k: v for k, v in image_options.items() if k != "background"}
    return Prepared(
        train=splits["train"],
        val=splits.get("val"),
        test=splits.get("test"),
        schema=schema,
        preprocessor=preprocessor,
        record=record,
        augment=spec.image.augment.model_dump() if spec.image.augment else None,
        workers=spec.batching.workers,
    )


def _as_input(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(x))
    return x


def _targets(task: str, y: np.ndarray) -> torch.Tensor:
    if task == "classification":
        return torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64))
    values = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))
    return values.reshape(len(values), -1)


def _generation_safe(task: str, targets: torch.Tensor, count: int) -> torch.Tensor:
    # Generation has no target; a [N, 0] tensor keeps y.shape[0] counting the samples.
    return torch.zeros(count, 0) if task == "generation" else targets


class _ImageLoader:
    """Reads and resizes images of one split by index (picklable for DataLoader workers)."""

    def __init__(self, images: Any, size: tuple[int, int], channels: int) -> None:
        self.images, self.size, self.channels = images, size, channels

    def __call__(self, samples: np.ndarray) -> torch.Tensor:
        out = np.empty((len(samples), self.channels, *self.size), dtype=np.uint8)
        for row, sample in enumerate(np.asarray(samples).tolist()):
            image = (
                self.images.image(sample)
                if isinstance(self.images, ImageCollection)
                else np.asarray(self.images[sample])
            )
            out[row] = fit_image(image, self.size, self.channels)
        return torch.from_numpy(out)


def _sized_images(
    pools: dict[str, tuple[Any, np.ndarray]], spec: DataSpec, seed: int
) -> tuple[dict[str, tuple[Any, np.ndarray]], dict[str, Callable], dict[str, Any]]:
    """Pick the image size and channels (from the training split) and resize every split.

    Returns the pools as dense ``uint8`` arrays (in memory) or, when the data is to be
    streamed, lazily reading loaders, plus the chosen options.
    """
    train = pools["train"][0]
    if isinstance(train, ImageCollection):
        size = tuple(spec.image.size) if spec.image.size else train.common_size()
        channels = spec.image.channels or train.channels
    else:
        size = tuple(spec.image.size) if spec.image.size else tuple(train.shape[2:])
        channels = spec.image.channels or int(train.shape[1])
    size = (int(size[0]), int(size[1]))
    samples = sum(len(y) for _, y in pools.values())
    megabytes = samples * channels * size[0] * size[1] * 4 / 2**20
    mode = spec.batching.mode
    stream = mode == "stream" or (mode == "auto" and megabytes > spec.batching.memory_limit_mb)
    options: dict[str, Any] = {"size": list(size), "channels": channels}
    if stream:
        loaders = {name: _ImageLoader(x, size, channels) for name, (x, _) in pools.items()}
        count = len(pools["train"][1])
        probe = np.random.default_rng(seed + 3).choice(count, size=min(count, 256), replace=False)
        options["background"] = image_background(loaders["train"](np.sort(probe)).numpy())
        return pools, loaders, options
    sized: dict[str, tuple[Any, np.ndarray]] = {}
    for name, (x, y) in pools.items():
        if isinstance(x, ImageCollection):
            dense = x.resized(size, channels)
        elif tuple(x.shape[1:]) != (channels, *size):
            dense = np.stack([fit_image(image, size, channels) for image in x]) if len(x) else x
        else:
            dense = x
        sized[name] = (dense, y)
    options["background"] = image_background(sized["train"][0])
    return sized, {}, options


# -- sequences: time-ordered split, then windows ----------------------------------------


def _prepare_series(raw: RawDataset, spec: DataSpec, seed: int) -> Prepared:
    task = spec.task or raw.task
    if task not in ("forecasting", "reconstruction"):
        raise DataError(f"data.task: a series serves forecasting or reconstruction, not {task}")
    if spec.split.method not in ("auto", "time"):
        raise DataError(
            f"data.split.method: '{spec.split.method}' would mix past and future windows of "
            f"the series '{raw.name}'; series are split in time order (auto or time)"
        )
    values = np.array(raw.x, dtype=np.float32)  # a writable copy
    features = list(raw.features or [f"x{i}" for i in range(values.shape[1])])
    names = (
        [t.strip() for t in spec.target.split(",")]
        if spec.target
        else list(raw.targets or features)
    )
    unknown = [n for n in names if n not in features]
    if unknown:
        raise DataError(
            f"data.target: '{unknown[0]}' is not a column of '{raw.name}'; columns: "
            + ", ".join(features)
        )
    target_index = [features.index(n) for n in names]
    window = spec.window
    horizon = window.horizon if task == "forecasting" else 0
    steps = len(values)
    sizes = _sizes(spec, steps, True)
    parts = ordered_split_indices(np.arange(steps), sizes)
    bounds = {name: (int(index[0]), int(index[-1]) + 1) for name, index in parts.items()}

    steps_list: list[Step] = _scaler(spec.normalize, "feature")
    forecast_scaled = task == "forecasting" and spec.scale_target in ("auto", "standard")
    if forecast_scaled:
        steps_list.append(TargetStandardize())
    preprocessor = Preprocessor(steps_list)
    train_begin, train_end = bounds["train"]
    train_values = torch.from_numpy(values[train_begin:train_end])
    preprocessor.fit(train_values[None], train_values[:, target_index])

    stamps = raw.timestamps if raw.timestamps is not None else np.arange(steps)
    marks = anomaly_steps(stamps, raw.anomaly_windows) if raw.anomaly_windows else None
    splits: dict[str, TensorSplit] = {}
    windows: dict[str, WindowIndex] = {}
    for name in ("train", "val", "test"):
        begin, end = bounds[name]
        starts = window_starts(end - begin, window.length, horizon, window.stride) + begin
        if len(starts) == 0:
            raise DataError(
                f"data.window: the {name} part of '{raw.name}' has {end - begin} steps, too few "
                f"for one window of length {window.length}"
                + (f" plus horizon {horizon}" if horizon else "")
                + "; shorten data.window.length or enlarge data.split"
            )
        x, y = cut_windows(
            values, starts, window.length, horizon, target_index if horizon else None
        )
        inputs = preprocessor.transform(torch.from_numpy(x))
        if task == "reconstruction":
            splits[name] = TensorSplit(inputs, inputs)
        else:
            target = torch.from_numpy(y)  # type: ignore[arg-type]
            splits[name] = TensorSplit(
                inputs, preprocessor.transform_target(target) if forecast_scaled else target
            )
        stops = starts + window.length
        windows[name] = WindowIndex(
            start=starts,
            stop=stops,
            start_time=stamps[starts],
            end_time=stamps[stops - 1],
            anomaly=(
                np.array([marks[s:e].any() for s, e in zip(starts, stops, strict=True)])
                if marks is not None
                else None
            ),
            step_anomaly=marks,
        )
    splits, windows = _subset_samples(splits, windows, spec, seed)
    schema = Schema(
        task=task,  # type: ignore[arg-type]
        input=InputSchema(kind="sequence", shape=[window.length, len(features)], features=features),
        target=",".join(names),
        targets=len(names) if task == "forecasting" else 1,
        horizon=horizon if task == "forecasting" else None,
        target_names=names if task == "forecasting" else None,
    )
    record = _split_record(
        seed, "time", False, {name: len(split) for name, split in splits.items()}, parts
    )
    record["task"] = task
    record["window"] = window.model_dump()
    record["steps"] = {name: list(bound) for name, bound in bounds.items()}
    if marks is not None:
        record["anomaly_windows"] = {
            name: int(index.anomaly.sum())
            for name, index in windows.items()  # type: ignore[union-attr]
        }
    return Prepared(
        train=splits["train"],
        val=splits["val"],
        test=splits["test"],
        schema=schema,
        preprocessor=preprocessor,
        record=record,
        windows=windows,
    )


# -- text: split by position, vocabulary from the training part, LM windows ---------------


def _prepare_text(raw: RawDataset, spec: DataSpec, seed: int) -> Prepared:
    from athanor.data.text import Tokenize, lm_windows, split_tokens

    task = spec.task or raw.task
    if task != "language_model":
        raise DataError(f"data.task: text serves language_model, not {task}")
    if spec.split.method not in ("auto", "time"):
        raise DataError(
            f"data.split.method: '{spec.split.method}' would put overlapping text in several "
            "splits; text is split by position (auto or time)"
        )
    text = raw.text or ""
    options = spec.text.model_copy(update={"length": spec.text.length or LM_LENGTH})
    tokens = split_tokens(text, options.level, options.lowercase)
    total = len(tokens)
    sizes = _sizes(spec, total, True)
    parts = ordered_split_indices(np.arange(total), sizes)
    bounds = {name: (int(index[0]), int(index[-1]) + 1) for name, index in parts.items()}
    tokenizer = Tokenize(options.level, length=options.length, lowercase=options.lowercase)
    train_begin, train_end = bounds["train"]
    tokenizer.fit_tokens(
        tokens[train_begin:train_end], min_count=options.min_count, max_size=options.max_vocab
    )
    ids = tokenizer.encode(tokens)
    stride = options.stride or options.length
    splits: dict[str, TensorSplit] = {}
    for name in ("train", "val", "test"):
        begin, end = bounds[name]
        x, y = lm_windows(ids[begin:end], options.length, stride)
        if len(x) == 0:
            raise DataError(
                f"data.text: the {name} part of '{raw.name}' has {end - begin} tokens, too few "
                f"for one sample of length {options.length}; shorten data.text.length"
            )
        splits[name] = TensorSplit(torch.from_numpy(x), torch.from_numpy(y))
    splits, _ = _subset_samples(splits, {}, spec, seed)
    schema = Schema(
        task="language_model",
        input=InputSchema(kind="tokens", shape=[options.length], vocab=list(tokenizer.vocab)),
        target=raw.target,
    )
    record = _split_record(
        seed, "time", False, {name: len(split) for name, split in splits.items()}, parts
    )
    record["task"] = task
    record["text"] = {**options.model_dump(), "vocab_size": len(tokenizer.vocab), "tokens": total}
    return Prepared(
        train=splits["train"],
        val=splits["val"],
        test=splits["test"],
        schema=schema,
        preprocessor=Preprocessor([tokenizer]),
        record=record,
    )


# -- documents: a stratified split, vocabulary from the training documents, padded ids -----


def _prepare_tokens(raw: RawDataset, spec: DataSpec, seed: int) -> Prepared:
    """A corpus (language models) or labeled documents (text classification)."""
    if raw.task == "classification":
        return _prepare_documents(raw, spec, seed)
    return _prepare_text(raw, spec, seed)


def _prepare_documents(raw: RawDataset, spec: DataSpec, seed: int) -> Prepared:
    from athanor.data.text import Tokenize, auto_length, length_statistics, split_tokens

    task = spec.task or raw.task
    if task != "classification":
        raise DataError(f"data.task: '{raw.name}' holds labeled documents for classification")
    if spec.target is not None and spec.target != raw.target:
        raise DataError(
            f"data.target: dataset '{raw.name}' has the target '{raw.target}', not '{spec.target}'"
        )
    method = spec.split.method
    if method not in ("auto", "stratified", "random"):
        raise DataError(
            f"data.split.method: '{method}' needs table columns; documents are split at "
            "random (auto and stratified keep the class proportions, random does not)"
        )
    method = "stratified" if method == "auto" else method
    assert raw.y is not None
    total = len(raw.x)
    sizes = _sizes(spec, total, not raw.has_official_test)
    labels = raw.y if method == "stratified" else None
    parts = split_indices(total, sizes, seed=seed, labels=labels)
    pools: dict[str, tuple[np.ndarray, np.ndarray]] = {
        name: (raw.x[index], raw.y[index]) for name, index in parts.items()
    }
    if raw.has_official_test:
        pools["test"] = (raw.x_test, raw.y_test)  # type: ignore[assignment]
    if spec.subset is not None:
        rng = np.random.default_rng(seed + 1)
        for name in ("train", "val", "test"):
            limit = getattr(spec.subset, name)
            if limit is not None and name in pools and limit < len(pools[name][0]):
                chosen = np.sort(rng.choice(len(pools[name][0]), size=limit, replace=False))
                pools[name] = (pools[name][0][chosen], pools[name][1][chosen])

    options = spec.text
    # The vocabulary and the default length come from the training documents alone.
    train_tokens = [
        split_tokens(str(text), options.level, options.lowercase) for text in pools["train"][0]
    ]
    lengths = np.array([len(tokens) for tokens in train_tokens])
    length = options.length or auto_length(lengths, options.level)
    tokenizer = Tokenize(options.level, length=length, lowercase=options.lowercase, keep="first")
    tokenizer.fit_tokens(
        [token for tokens in train_tokens for token in tokens],
        min_count=options.min_count,
        max_size=options.max_vocab,
    )
    splits: dict[str, TensorSplit] = {}
    for name, (x, y) in pools.items():
        ids = tokenizer.transform([str(text) for text in x])
        splits[name] = TensorSplit(ids, _targets("classification", y))
    schema = Schema(
        task="classification",
        input=InputSchema(kind="tokens", shape=[length], vocab=list(tokenizer.vocab)),
        target=raw.target,
        classes=list(raw.classes or []),
    )
    record = _split_record(
        seed,
        method,
        raw.has_official_test,
        {name: len(split) for name, split in splits.items()},
        parts,
    )
    record["task"] = task
    record["batching"] = "memory"
    record["text"] = {
        **options.model_dump(),
        "length": length,
        "length_chosen": "spec" if options.length else "95th percentile of training lengths",
        "vocab_size": len(tokenizer.vocab),
        "train_lengths": length_statistics(lengths),
        "truncated_train_share": round(float((lengths > length).mean()), 4) if len(lengths) else 0,
    }
    return Prepared(
        train=splits["train"],
        val=splits.get("val"),
        test=splits.get("test"),
        schema=schema,
        preprocessor=Preprocessor([tokenizer]),
        record=record,
    )


def _subset_samples(
    splits: dict[str, TensorSplit], windows: dict[str, WindowIndex], spec: DataSpec, seed: int
) -> tuple[dict[str, TensorSplit], dict[str, WindowIndex]]:
    """Keep a seeded random subset of each split's samples (``data.subset``), windows alike.

    Preprocessing was fitted before, on the whole training part.
    """
    if spec.subset is None:
        return splits, windows
    rng = np.random.default_rng(seed + 1)
    for name, split in list(splits.items()):
        limit = getattr(spec.subset, name)
        if limit is None or limit >= len(split):
            continue
        chosen = np.sort(rng.choice(len(split), size=limit, replace=False))
        index = torch.from_numpy(chosen)
        splits[name] = TensorSplit(split.x[index], split.y[index])
        if name in windows:
            found = windows[name]
            windows[name] = replace(
                found,
                start=found.start[chosen],
                stop=found.stop[chosen],
                start_time=found.start_time[chosen],
                end_time=found.end_time[chosen],
                anomaly=found.anomaly[chosen] if found.anomaly is not None else None,
            )
    return splits, windows


_PREPARERS: dict[str, Callable[[RawDataset, DataSpec, int], Prepared]] = {
    "image": _prepare_samples,
    "tabular": _prepare_samples,
    "sequence": _prepare_series,
    "tokens": _prepare_tokens,
}
