"""Datasets of independent samples (images, tables, plain arrays): split by sample.

The split is random, stratified (classification), by group or in time order (table
columns); scaling is fitted on the training split, or on a seeded sample of it when
images are streamed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from athanor.data.batching import LazySplit, TensorSplit
from athanor.data.prepare._common import (
    add_split_warnings,
    as_targets,
    check_classes,
    scaler,
    split_pools,
    split_record,
    split_sizes,
)
from athanor.data.prepare.core import Prepared, preparer
from athanor.data.prepare.images import STREAM_FIT_SAMPLES, image_steps, sized_images
from athanor.data.prepare.tables import split_keys, table_steps
from athanor.data.preprocessing import Preprocessor, Step, TargetStandardize, ToFloat
from athanor.data.raw import RawDataset
from athanor.data.schema import ColumnSchema, InputSchema, Schema
from athanor.data.splits import group_split_indices, ordered_split_indices, split_indices
from athanor.data.tables import TableData
from athanor.errors import DataError
from athanor.spec.data import DataSpec


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


@preparer("image", "tabular")
def prepare_samples(raw: RawDataset, spec: DataSpec, seed: int) -> Prepared:
    """Split ``raw`` by sample, fit preprocessing on the training split, transform all."""
    table_task = spec.task if spec.task in ("classification", "regression") else None
    for table in (raw.x, raw.x_test):
        if isinstance(table, TableData):
            table.check_finite()
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
    if raw.task == "regression" and np.isinf(raw.y).any():
        raise DataError(
            f"dataset '{raw.name}': the target '{raw.target}' holds infinite values; "
            "regression needs finite numbers"
        )
    if raw.task == "regression" and not np.isfinite(raw.y).all():
        raise DataError(f"dataset '{raw.name}': the target '{raw.target}' has missing values")
    task = _check_task(raw, spec)
    classification = task == "classification"
    if classification:
        check_classes(raw.y, raw.classes, f"data.target: '{raw.target}' of '{raw.name}'")

    method = spec.split.method
    keys = None
    if method == "group":
        keys, raw = split_keys(raw, spec, "group")
    elif method == "time" and spec.split.time:
        keys, raw = split_keys(raw, spec, "time")
    total = len(raw.x)
    sizes = split_sizes(spec, total, not raw.has_official_test)
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

    pools = split_pools(raw, parts, spec, seed)
    if classification:
        check_classes(
            pools["train"][1], raw.classes, f"data.split: the training split of '{raw.name}'"
        )

    image_options: dict[str, Any] = {}
    loaders: dict[str, Callable[[np.ndarray], Any]] = {}
    if raw.kind == "image":
        pools, loaders, image_options = sized_images(pools, spec, seed)
        steps: list[Step] = image_steps(spec, task)
    elif isinstance(raw.x, TableData):
        steps = table_steps(raw.x, spec)
    else:
        scale = 1 / 255 if raw.x.dtype == np.uint8 else 1.0
        steps = [ToFloat(scale), *scaler(spec.normalize, "column")]

    y_train_raw = as_targets(task, pools["train"][1])
    # Targets like house prices in dollars would make the loss and its gradients huge.
    scale_target = task == "regression" and spec.scale_target in ("auto", "standard")
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
        targets = as_targets(task, y)
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
    record = split_record(seed, method, raw.has_official_test, splits, parts)
    add_split_warnings(record, raw.name, total, sizes)
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


def _generation_safe(task: str, targets: torch.Tensor, count: int) -> torch.Tensor:
    # Generation has no target; a [N, 0] tensor keeps y.shape[0] counting the samples.
    return torch.zeros(count, 0) if task == "generation" else targets
