"""A typical input row for a table model, to show (and send) as an example prediction request.

The values come from what the model's preprocessing learned on the training split, in the raw
units a request carries: a typed table's imputation values (median or mean of numeric columns,
the majority of boolean ones, the median date) and first category, or else each column's mean
where the model standardizes (or the middle of its range where it scales to one). Columns with
nothing learned get 0. Models of other inputs (images, sequences, text) have no example row.
"""

from __future__ import annotations

from typing import Any

from athanor.data.encoding import TableEncoder
from athanor.data.preprocessing import MinMax, Standardize
from athanor.serve.predictor import Predictor

SIGNIFICANT_DIGITS = 4


def example_input(predictor: Predictor) -> dict[str, Any] | None:
    """``{column: value}`` for one typical row of a table model, or ``None`` for other models."""
    schema = predictor.schema.input
    if schema.kind != "tabular":
        return None
    steps = predictor.preprocessor.input_steps
    encoder = next((step for step in steps if isinstance(step, TableEncoder)), None)
    if encoder is not None:
        return {column["name"]: _typed_value(column) for column in encoder.columns}
    features = schema.features or [f"x{index}" for index in range(schema.shape[0])]
    centers = _column_centers(steps, len(features))
    return {name: _rounded(value) for name, value in zip(features, centers, strict=True)}


def _typed_value(column: dict[str, Any]) -> Any:
    kind, fill = column["type"], column.get("fill")
    if kind == "numeric":
        return _rounded(float(fill or 0.0))
    if kind == "boolean":
        return bool(fill)
    if kind == "categorical":
        categories = column.get("categories") or []
        return categories[0] if categories else None
    if kind == "datetime" and isinstance(fill, list) and len(fill) >= 3:
        year, month, day = (round(part) for part in fill[:3])
        return f"{year:04d}-{month:02d}-{day:02d}"
    return None  # text columns are not used by the network


def _column_centers(steps: list[Any], count: int) -> list[float]:
    """Each column's training mean (or range middle) when the first scaling step is per column."""
    for step in steps:
        per_column = getattr(step, "per", None) == "column"
        if isinstance(step, Standardize) and per_column and len(step.mean or []) == count:
            return [float(value) for value in step.mean or []]
        if isinstance(step, MinMax) and per_column and len(step.low or []) == count:
            return [
                (low + high) / 2 for low, high in zip(step.low or [], step.high or [], strict=True)
            ]
        if isinstance(step, (Standardize, MinMax)):
            break  # a later step sees scaled values, not the request's
    return [0.0] * count


def _rounded(value: float) -> float:
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
