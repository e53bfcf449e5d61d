"""Time series for training: a time-ordered split, then sliding windows of each part."""

from __future__ import annotations

import numpy as np
import torch

from athanor.data.batching import TensorSplit
from athanor.data.prepare._common import scaler, split_record, split_sizes, subset_splits
from athanor.data.prepare.core import Prepared, preparer
from athanor.data.preprocessing import Preprocessor, Step, TargetStandardize
from athanor.data.raw import RawDataset
from athanor.data.schema import InputSchema, Schema
from athanor.data.series import WindowIndex, anomaly_steps, cut_windows, window_starts
from athanor.data.splits import ordered_split_indices
from athanor.errors import DataError
from athanor.spec.data import DataSpec


@preparer("sequence")
def prepare_series(raw: RawDataset, spec: DataSpec, seed: int) -> Prepared:
    """Split a series in time order, fit scaling on its training part, cut windows."""
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
    sizes = split_sizes(spec, steps, True)
    parts = ordered_split_indices(np.arange(steps), sizes)
    bounds = {name: (int(index[0]), int(index[-1]) + 1) for name, index in parts.items()}

    steps_list: list[Step] = scaler(spec.normalize, "feature")
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
        if name not in bounds:  # data.split: none
            continue
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
    splits, windows = subset_splits(splits, windows, spec, seed)
    schema = Schema(
        task=task,  # type: ignore[arg-type]
        input=InputSchema(kind="sequence", shape=[window.length, len(features)], features=features),
        target=",".join(names),
        targets=len(names) if task == "forecasting" else 1,
        horizon=horizon if task == "forecasting" else None,
        target_names=names if task == "forecasting" else None,
    )
    record = split_record(seed, "time", False, splits, parts)
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
        val=splits.get("val"),
        test=splits.get("test"),
        schema=schema,
        preprocessor=preprocessor,
        record=record,
        windows=windows,
    )
