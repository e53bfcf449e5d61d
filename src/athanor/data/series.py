"""Time series: reading timestamp + value CSV files and cutting sliding windows.

A window of ``length`` steps starting at step ``s`` is ``x = series[s : s + length]``.
Forecasting targets are the next ``horizon`` steps of the target columns,
``y = series[s + length : s + length + horizon, targets]``; reconstruction targets are
``x`` itself. Windows start every ``stride`` steps.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from athanor.errors import DataError


@dataclass
class WindowIndex:
    """Where each window of one split lies in its series (sequence datasets).

    ``start``/``stop`` are step indices into the whole series (``stop`` exclusive) of each
    window's input; ``start_time``/``end_time`` the timestamps of its first and last input
    step. ``anomaly`` (datasets with labeled anomaly windows, e.g. NAB) is True for a window
    whose input overlaps a labeled anomaly range, and ``step_anomaly`` marks each step of
    the series inside one, so an anomaly scorer can be evaluated per window or per step.
    """

    start: np.ndarray
    stop: np.ndarray
    start_time: np.ndarray
    end_time: np.ndarray
    anomaly: np.ndarray | None = None
    step_anomaly: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.start)

    def take(self, index: np.ndarray) -> WindowIndex:
        """The windows at ``index`` (the marks of the series' steps stay whole)."""
        return replace(
            self,
            start=self.start[index],
            stop=self.stop[index],
            start_time=self.start_time[index],
            end_time=self.end_time[index],
            anomaly=self.anomaly[index] if self.anomaly is not None else None,
        )

    def to_json(self) -> dict[str, Any]:
        def stamps(values: np.ndarray) -> list[Any]:
            if values.dtype.kind == "M":
                return [str(v) for v in values.astype("datetime64[s]")]
            return values.tolist()

        data: dict[str, Any] = {
            "start": self.start.tolist(),
            "stop": self.stop.tolist(),
            "start_time": stamps(self.start_time),
            "end_time": stamps(self.end_time),
        }
        if self.anomaly is not None:
            data["anomaly"] = self.anomaly.astype(bool).tolist()
        return data


def window_starts(steps: int, length: int, horizon: int, stride: int) -> np.ndarray:
    """First steps of every window that fits (input plus ``horizon`` future steps)."""
    last = steps - length - horizon
    if last < 0:
        return np.zeros(0, dtype=np.int64)
    return np.arange(0, last + 1, stride, dtype=np.int64)


def cut_windows(
    values: np.ndarray,
    starts: np.ndarray,
    length: int,
    horizon: int,
    targets: list[int] | None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """``x [N, length, F]`` and, for forecasting (``targets`` given), ``y [N, horizon, T]``."""
    offsets = np.arange(length)
    x = values[starts[:, None] + offsets[None, :]]
    if targets is None:
        return x.astype(np.float32), None
    ahead = np.arange(length, length + horizon)
    y = values[starts[:, None] + ahead[None, :]][:, :, targets]
    return x.astype(np.float32), y.astype(np.float32)


def anomaly_steps(timestamps: np.ndarray, windows: list[tuple[str, str]]) -> np.ndarray:
    """True for each step whose timestamp lies in a labeled ``[start, end]`` range."""
    marks = np.zeros(len(timestamps), dtype=bool)
    stamps = timestamps.astype("datetime64[ns]")
    for start, end in windows:
        low, high = np.datetime64(start, "ns"), np.datetime64(end, "ns")
        marks |= (stamps >= low) & (stamps <= high)
    return marks


def read_series_csv(
    path: Path,
    *,
    time_column: str | None = None,
    encoding: str = "utf-8",
    keep_order: bool = False,
    duplicates: str = "error",
) -> tuple[np.ndarray, np.ndarray, list[str], list[dict[str, str]]]:
    """A time-series CSV: a timestamp column and numeric value columns.

    The timestamp column is ``time_column``, or the first datetime column. Rows are put in
    time order (``keep_order``: left in file order, repeated timestamps allowed, as a
    benchmark's published series need); missing values are filled from the previous step
    (then the next one). Rows sharing a timestamp are refused (``duplicates="error"``), or
    merged into one row: the first in the file (``"first"``) or their mean (``"mean"``);
    a note says how many were merged.

    Returns:
        ``(timestamps datetime64[ns] [T], values float32 [T, F], value column names, notes)``.

    Raises:
        DataError: no timestamp column, duplicate timestamps, or non-numeric values,
            naming the file, column and line.
    """
    from athanor.data.tables import missing_mask, read_delimited

    table, problems = read_delimited(path, encoding=encoding)
    if problems.ragged:
        line, count = problems.ragged[0]
        raise DataError(
            f"{path}:{line}: {count} fields, the header has {len(table.columns)}; a series "
            "file needs every row complete"
        )
    if time_column is None:
        stamps = [c.name for c in table.columns if c.type == "datetime"]
        if not stamps:
            raise DataError(
                f"{path}: no timestamp column (columns: {', '.join(table.names)}); a series "
                "needs one column of dates or times (--time COLUMN)"
            )
        time_column = stamps[0]
    column = table.column(time_column)
    if column.type != "datetime":
        raise DataError(f"{path}: column '{time_column}' holds {column.type} values, not times")
    times = table.values[time_column]
    if missing_mask(times).any():
        line = int(table.lines[missing_mask(times)][0])
        raise DataError(f"{path}:{line}: column '{time_column}' has no timestamp")
    names = [c.name for c in table.columns if c.name != time_column]
    notes: list[dict[str, str]] = []
    numeric = []
    for name in names:
        kind = table.column(name).type
        if kind not in ("numeric", "boolean"):
            raise DataError(
                f"{path}: column '{name}' holds {kind} values; a series takes numbers only"
            )
        numeric.append(table.values[name])
    if not numeric:
        raise DataError(f"{path}: no value columns beside '{time_column}'")
    order = np.arange(len(times)) if keep_order else np.argsort(times, kind="stable")
    times = times[order]
    values = np.stack(numeric, axis=1)[order]
    repeated = np.flatnonzero(times[1:] == times[:-1])
    if keep_order and len(repeated):
        notes.append({"item": str(path), "reason": f"{len(repeated)} repeated timestamp(s)"})
    elif len(repeated) and duplicates == "error":
        line = int(table.lines[order][repeated[0] + 1])
        first = int(table.lines[order][repeated[0]])
        stamp = np.datetime_as_string(times[repeated[0]], unit="s").replace("T", " ")
        raise DataError(
            f"{path}:{line}: timestamp {stamp} appears again (first on line {first}); "
            f"{len(repeated)} row(s) repeat an earlier timestamp. Choose how to merge them: "
            "--duplicates first (keep the first row) or --duplicates mean (average them)"
        )
    elif len(repeated):
        times, values, merged = merge_duplicates(times, values, duplicates)
        notes.append(
            {
                "item": str(path),
                "reason": f"{merged} row(s) with a repeated timestamp merged "
                f"({'first kept' if duplicates == 'first' else 'mean of each group'})",
                "duplicates_merged": str(merged),
            }
        )
    gaps = np.isnan(values)
    if gaps.any():
        notes.append(
            {"item": str(path), "reason": f"{int(gaps.sum())} missing value(s) filled forward"}
        )
        values = _fill_forward(values)
    return times, values.astype(np.float32), names, notes


DUPLICATE_POLICIES = ("error", "first", "mean")
"""What a series import does with rows sharing a timestamp."""


def merge_duplicates(
    times: np.ndarray, values: np.ndarray, policy: str
) -> tuple[np.ndarray, np.ndarray, int]:
    """Merge the rows of time-sorted ``times`` that share a timestamp into one.

    Args:
        times: timestamps in order (repeats next to each other).
        values: ``[T, F]`` values of each row.
        policy: ``first`` keeps each group's first row, ``mean`` averages the group
            (missing values left out of the mean).

    Returns:
        ``(times, values, rows merged away)``.
    """
    if policy not in ("first", "mean"):
        raise ValueError(f"unknown duplicate policy {policy!r}")
    starts = np.flatnonzero(np.r_[True, times[1:] != times[:-1]])
    merged = len(times) - len(starts)
    if policy == "first":
        return times[starts], values[starts], merged
    sums = np.add.reduceat(np.nan_to_num(values, nan=0.0), starts, axis=0)
    counts = np.add.reduceat((~np.isnan(values)).astype(np.float64), starts, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return times[starts], means.astype(values.dtype), merged


def _fill_forward(values: np.ndarray) -> np.ndarray:
    filled = values.copy()
    for column in range(filled.shape[1]):
        series = filled[:, column]
        valid = ~np.isnan(series)
        if not valid.any():
            series[:] = 0.0
            continue
        index = np.where(valid, np.arange(len(series)), 0)
        np.maximum.accumulate(index, out=index)
        series[:] = series[index]
        first = int(np.argmax(valid))
        series[:first] = series[first]
    return filled
