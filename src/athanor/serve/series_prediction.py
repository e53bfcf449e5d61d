"""Predictions over a whole time series: anomaly scores and flags per timestamp, or a
forecast ahead of its end.

A series model takes windows; the user has a series. These functions cut the series into the
model's windows themselves (its stored window length and stride), apply its stored
preprocessing, and give one answer per timestamp (anomaly detectors) or the ``horizon``
steps after the last one (forecasters).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from athanor.data.anomaly import (
    FlaggedInterval,
    covering_starts,
    flagged_intervals,
    step_scores,
)
from athanor.errors import PredictionInputError
from athanor.serve.predictor import Predictor

SCORE_BATCH = 512  # windows per forward pass


@dataclass
class Series:
    """A series as given: timestamps ``[T]`` and values ``[T, F]`` in the model's feature
    order, with notes on what was done to it (duplicates merged, gaps filled)."""

    timestamps: np.ndarray
    values: np.ndarray
    features: list[str]
    notes: list[str] = field(default_factory=list)


@dataclass
class AnomalyResult:
    """Each timestamp's score and flag, the threshold, and the flagged intervals."""

    model: str | None
    series: Series
    scores: np.ndarray
    flags: np.ndarray
    threshold: float
    threshold_record: dict[str, Any]
    intervals: list[FlaggedInterval]

    def rows(self) -> list[dict[str, Any]]:
        """One row per timestamp: ``timestamp, <features>, score, anomaly``."""
        rows = []
        for i, stamp in enumerate(self.series.timestamps):
            row: dict[str, Any] = {"timestamp": _stamp(stamp)}
            for j, name in enumerate(self.series.features):
                row[name] = float(self.series.values[i, j])
            row["score"] = float(self.scores[i])
            row["anomaly"] = bool(self.flags[i])
            rows.append(row)
        return rows

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "task": "anomaly",
            "threshold": self.threshold,
            "threshold_method": {
                k: v for k, v in self.threshold_record.items() if k != "statistics"
            },
            "timestamps": [_stamp(t) for t in self.series.timestamps],
            "values": {
                name: self.series.values[:, j].astype(float).tolist()
                for j, name in enumerate(self.series.features)
            },
            "scores": [float(s) for s in self.scores],
            "flags": [bool(f) for f in self.flags],
            "flagged": int(self.flags.sum()),
            "intervals": [interval.to_json() for interval in self.intervals],
            "notes": self.series.notes,
        }

    def write_csv(self, path: Path) -> None:
        """The per-timestamp rows as a CSV file."""
        _write_rows(path, self.rows())

    def write_intervals_csv(self, path: Path) -> None:
        """The flagged intervals (start, end, steps, peak score, peak time) as a CSV file."""
        rows = [interval.to_json() for interval in self.intervals]
        header = ["start", "end", "steps", "peak_score", "peak_time"]
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, header)
            writer.writeheader()
            writer.writerows(rows)


@dataclass
class ForecastResult:
    """The ``horizon`` steps after the series' end, per target."""

    model: str | None
    series: Series
    timestamps: np.ndarray
    values: np.ndarray  # [horizon, targets]
    targets: list[str]

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "timestamp": _stamp(stamp),
                **{t: float(v) for t, v in zip(self.targets, row, strict=True)},
            }
            for stamp, row in zip(self.timestamps, self.values, strict=True)
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "task": "forecasting",
            "history": {
                "timestamps": [_stamp(t) for t in self.series.timestamps],
                "values": {
                    name: self.series.values[:, j].astype(float).tolist()
                    for j, name in enumerate(self.series.features)
                },
            },
            "forecast": {
                "timestamps": [_stamp(t) for t in self.timestamps],
                "values": {
                    name: self.values[:, j].astype(float).tolist()
                    for j, name in enumerate(self.targets)
                },
            },
            "notes": self.series.notes,
        }

    def write_csv(self, path: Path) -> None:
        _write_rows(path, self.rows())


def _write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(rows[0]) if rows else ["timestamp"])
        writer.writeheader()
        writer.writerows(rows)


def _stamp(value: Any) -> Any:
    if isinstance(value, np.datetime64):
        return np.datetime_as_string(value, unit="s").replace("T", " ")
    if isinstance(value, np.generic):
        return value.item()
    return value


def is_series_model(predictor: Predictor) -> bool:
    """A model over windows of a series (an anomaly detector or a forecaster)."""
    return predictor.schema.input.kind == "sequence" and predictor.schema.task in (
        "reconstruction",
        "forecasting",
    )


def read_series(
    predictor: Predictor,
    source: Path | bytes | str,
    *,
    name: str = "body.csv",
    duplicates: str = "error",
    time_column: str | None = None,
) -> Series:
    """A series CSV (a path, or a body's bytes or text) read for ``predictor``.

    The value columns are matched to the model's features by name; a file with as many
    value columns as the model has features but other names is taken in column order.

    Raises:
        PredictionInputError: no timestamp column, repeated timestamps (with
            ``duplicates="error"``), non-numeric values, or columns that do not match.
    """
    import tempfile

    from athanor.data.series import read_series_csv
    from athanor.errors import DataError

    if isinstance(source, Path):
        try:
            times, values, names, notes = read_series_csv(
                source, time_column=time_column, duplicates=duplicates
            )
        except DataError as exc:
            raise PredictionInputError(str(exc)) from None
    else:
        data = source.encode() if isinstance(source, str) else source
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / Path(name).name
            path.write_bytes(data)
            try:
                times, values, names, notes = read_series_csv(
                    path, time_column=time_column, duplicates=duplicates
                )
            except DataError as exc:  # name the body, not the temporary file
                message = str(exc).replace(str(path), name)
                if "--duplicates" in message:
                    message += " (in a request: ?duplicates=first or ?duplicates=mean)"
                raise PredictionInputError(message) from None
    return _matched(predictor, times, values, names, [n["reason"] for n in notes], name)


def series_from_json(predictor: Predictor, payload: dict[str, Any]) -> Series:
    """A series from ``{"timestamps": [...], "values": [...] or {feature: [...]}}``.

    Raises:
        PredictionInputError: missing keys, lengths that differ, unreadable times or values.
    """
    unknown = sorted(set(payload) - {"timestamps", "values", "duplicates"})
    if unknown:
        raise PredictionInputError(
            f"unknown key(s) {', '.join(unknown)}; a series body is "
            '{"timestamps": [...], "values": [...]}'
        )
    if "timestamps" not in payload or "values" not in payload:
        raise PredictionInputError(
            'a series body needs "timestamps" and "values" ({"timestamps": [...], '
            '"values": [...] or {"feature": [...]}})'
        )
    stamps = payload["timestamps"]
    raw = payload["values"]
    features = predictor.schema.input.features or ["value"]
    if isinstance(raw, dict):
        names = list(raw)
        columns = [raw[n] for n in names]
    else:
        names = features if len(features) == 1 else [f"x{i}" for i in range(len(features))]
        columns = [raw] if len(features) == 1 else list(zip(*raw, strict=False))
    try:
        values = np.array(columns, dtype=np.float64).T.reshape(len(stamps), len(columns))
    except (TypeError, ValueError):
        raise PredictionInputError(
            f'"values" must hold {len(stamps)} numbers per feature (one per timestamp)'
        ) from None
    try:
        times = np.array(stamps, dtype="datetime64[ns]")
    except (TypeError, ValueError):
        raise PredictionInputError('"timestamps" must be ISO dates or times') from None
    order = np.argsort(times, kind="stable")
    times, values = times[order], values[order]
    notes: list[str] = []
    if len(times) > 1 and (times[1:] == times[:-1]).any():
        from athanor.data.series import merge_duplicates

        policy = payload.get("duplicates", "error")
        if policy not in ("first", "mean"):
            raise PredictionInputError(
                'repeated timestamps; send "duplicates": "first" or "mean" to merge them'
            )
        times, values, merged = merge_duplicates(times, values, policy)
        notes.append(f"{merged} row(s) with a repeated timestamp merged ({policy})")
    if not np.isfinite(values).all():
        raise PredictionInputError('"values" contains NaN or infinite values')
    return _matched(predictor, times, values.astype(np.float32), names, notes, "body")


def _matched(
    predictor: Predictor,
    times: np.ndarray,
    values: np.ndarray,
    names: list[str],
    notes: list[str],
    origin: str,
) -> Series:
    features = predictor.schema.input.features or names
    if all(f in names for f in features):
        values = values[:, [names.index(f) for f in features]]
    elif len(names) == len(features):
        notes = [*notes, f"columns {', '.join(names)} taken as {', '.join(features)}"]
    else:
        raise PredictionInputError(
            f"{origin}: value columns {', '.join(names)} do not match the model's features "
            f"{', '.join(features)}; give a timestamp column and "
            + ("these columns" if len(features) > 1 else "one value column")
        )
    length = int(predictor.schema.input.shape[0])
    if len(times) < length:
        raise PredictionInputError(
            f"{origin}: the series has {len(times)} timestamp(s); the model reads windows of "
            f"{length} steps, so give at least {length}"
        )
    return Series(times, np.asarray(values, dtype=np.float32), list(features), notes)


def _window_stride(predictor: Predictor) -> tuple[int, int]:
    window = predictor.metadata.get("spec", {}).get("data", {}).get("window") or {}
    length = int(predictor.schema.input.shape[0])
    return length, int(window.get("stride") or 1)


def detect_anomalies(
    predictor: Predictor, series: Series, *, threshold: float | None = None
) -> AnomalyResult:
    """Score and flag every timestamp of ``series`` with an anomaly detector.

    Args:
        predictor: a reconstruction model (an autoencoder) whose package holds a threshold.
        series: the series (:func:`read_series`).
        threshold: flag above this score instead of the package's threshold.

    Raises:
        PredictionInputError: a model that does not detect anomalies, or has no threshold.
    """
    if predictor.schema.task != "reconstruction":
        raise PredictionInputError(
            f"this model does {predictor.schema.task}, not anomaly detection"
        )
    record = dict(predictor.metadata.get("anomaly") or {})
    if threshold is None:
        if "value" not in record:
            raise PredictionInputError(
                "this model's package holds no anomaly threshold (trained without a "
                "validation split); give one with --threshold"
            )
        threshold = float(record["value"])
    else:
        record = {"value": threshold, "method": "given"}
    length, stride = _window_stride(predictor)
    steps = len(series.timestamps)
    starts = covering_starts(steps, length, stride)
    errors = _window_errors(predictor, series.values, starts, length)
    scores = step_scores(errors, starts, steps)
    flags = scores > threshold
    intervals = flagged_intervals(flags, scores, series.timestamps)
    return AnomalyResult(predictor.ref, series, scores, flags, threshold, record, intervals)


@torch.inference_mode()
def _window_errors(
    predictor: Predictor, values: np.ndarray, starts: np.ndarray, length: int
) -> np.ndarray:
    from athanor.data.series import cut_windows
    from athanor.training.callbacks.anomaly_threshold import reconstruction_errors

    errors = []
    for begin in range(0, len(starts), SCORE_BATCH):
        x, _ = cut_windows(values, starts[begin : begin + SCORE_BATCH], length, 0, None)
        inputs = predictor.preprocessor.transform(torch.from_numpy(x)).to(predictor.device)
        errors.append(reconstruction_errors(predictor.network, inputs).cpu().numpy())
    return np.concatenate(errors)


def forecast(predictor: Predictor, series: Series) -> ForecastResult:
    """The model's ``horizon`` steps after the end of ``series``, from its last window.

    Future timestamps continue the series' usual step (the median gap between timestamps;
    whole months and years stay on calendar boundaries).

    Raises:
        PredictionInputError: a model that does not forecast.
    """
    if predictor.schema.task != "forecasting":
        raise PredictionInputError(f"this model does {predictor.schema.task}, not forecasting")
    length = int(predictor.schema.input.shape[0])
    window = series.values[-length:][None]
    values = predictor.scores(window)[0]
    horizon = int(predictor.schema.horizon or values.shape[0])
    values = values.reshape(horizon, -1)
    targets = predictor.schema.target_names or [predictor.schema.target]
    stamps = future_timestamps(series.timestamps, horizon)
    return ForecastResult(predictor.ref, series, stamps, values, list(targets))


def future_timestamps(timestamps: np.ndarray, horizon: int) -> np.ndarray:
    """``horizon`` timestamps after the last one, at the series' usual step."""
    if timestamps.dtype.kind != "M":
        step = int(np.median(np.diff(timestamps))) if len(timestamps) > 1 else 1
        return timestamps[-1] + step * np.arange(1, horizon + 1)
    import warnings

    import pandas as pd

    index = pd.DatetimeIndex(timestamps)
    with warnings.catch_warnings():  # pandas announces a change of the return type
        warnings.simplefilter("ignore")
        frequency = pd.infer_freq(index[-min(len(index), 50) :]) if len(index) >= 3 else None
    if frequency is not None:
        future = pd.date_range(index[-1], periods=horizon + 1, freq=frequency)[1:]
        return future.to_numpy("datetime64[ns]")
    step = np.median(np.diff(timestamps)) if len(timestamps) > 1 else np.timedelta64(1, "D")
    return timestamps[-1] + step * np.arange(1, horizon + 1)
