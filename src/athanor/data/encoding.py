"""Encoding typed table columns into the float features a network takes.

Fitted on the training split: imputation values, category lists and datetime fill-ins are
learned there and saved as JSON; the same state turns prediction rows (with unseen
categories or missing cells) into the same features.

=========== ===================================================================
column      features
=========== ===================================================================
numeric     the value; a missing one becomes the training mean, median or 0
boolean     0 or 1; a missing one becomes the training majority
categorical one-hot (``col=value`` per training category, all 0 when unseen or
            missing), or ``index``: 1 + the category's position, 0 when unseen
datetime    year, month, day, weekday and hour (missing: the training median)
text        not used (free text needs a text model); listed in ``dropped``
=========== ===================================================================
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import torch

from athanor.data.preprocessing import Step, register_step
from athanor.data.tables import TableData, missing_mask
from athanor.errors import PredictionInputError

DATETIME_PARTS = ("year", "month", "day", "weekday", "hour")


def _datetime_parts(values: np.ndarray) -> np.ndarray:
    """``[N, 5]`` float parts of datetime64 values (NaN where missing)."""
    import pandas as pd

    index = pd.DatetimeIndex(values)
    parts = np.stack(
        [
            index.year.to_numpy(np.float64, na_value=np.nan),
            index.month.to_numpy(np.float64, na_value=np.nan),
            index.day.to_numpy(np.float64, na_value=np.nan),
            index.day_of_week.to_numpy(np.float64, na_value=np.nan),
            index.hour.to_numpy(np.float64, na_value=np.nan),
        ],
        axis=1,
    )
    return parts


@register_step
class TableEncoder(Step):
    """Typed columns -> ``float32 [N, features]`` (see the module docstring).

    Args:
        columns: per column ``{"name", "type"}`` plus, once fitted, its fill value and
            categories.
        impute: ``mean``, ``median`` (default) or ``zero`` for numeric columns.
        categorical: ``onehot`` (default) or ``index``.
        max_categories: one-hot keeps the most frequent categories up to this many
            (default 50); rarer ones encode as unseen.
    """

    kind = "table_encoder"
    accepts_raw = True

    def __init__(
        self,
        columns: list[dict[str, Any]],
        impute: str = "median",
        categorical: str = "onehot",
        max_categories: int = 50,
        dropped: list[str] | None = None,
    ) -> None:
        self.columns = [dict(c) for c in columns]
        self.impute = impute
        self.categorical = categorical
        self.max_categories = max_categories
        self.dropped = list(dropped or [])

    def fit(self, x: Any) -> None:
        table = self._table(x)
        self.dropped = []
        for column in self.columns:
            values = table.values[column["name"]]
            present = ~missing_mask(values)
            kind = column["type"]
            if kind == "numeric":
                finite = values[present]
                if not len(finite) or self.impute == "zero":
                    column["fill"] = 0.0
                elif self.impute == "mean":
                    column["fill"] = float(np.mean(finite))
                else:
                    column["fill"] = float(np.median(finite))
            elif kind == "boolean":
                finite = values[present]
                column["fill"] = float(np.mean(finite) >= 0.5) if len(finite) else 0.0
            elif kind == "categorical":
                counts = Counter(values[present].tolist())
                ranked = sorted(counts, key=lambda v: (-counts[v], v))
                if self.categorical == "onehot":
                    ranked = ranked[: self.max_categories]
                column["categories"] = sorted(ranked)
            elif kind == "datetime":
                parts = _datetime_parts(values[present])
                column["fill"] = np.nanmedian(parts, axis=0).tolist() if len(parts) else [0.0] * 5
            else:
                self.dropped.append(column["name"])

    @property
    def features(self) -> list[str]:
        """Names of the encoded features, in order."""
        names: list[str] = []
        for column in self.columns:
            kind, name = column["type"], column["name"]
            if kind in ("numeric", "boolean"):
                names.append(name)
            elif kind == "categorical":
                if self.categorical == "onehot":
                    names.extend(f"{name}={value}" for value in column.get("categories", []))
                else:
                    names.append(name)
            elif kind == "datetime":
                names.extend(f"{name}.{part}" for part in DATETIME_PARTS)
        return names

    def transform(self, x: Any) -> torch.Tensor:
        table = self._table(x)
        blocks: list[np.ndarray] = []
        rows = len(table)
        for column in self.columns:
            kind, name = column["type"], column["name"]
            if kind == "text":
                continue
            if name not in table.values:
                raise PredictionInputError(f"missing column '{name}'")
            values = table.values[name]
            if kind in ("numeric", "boolean"):
                if values.dtype.kind != "f":
                    raise PredictionInputError(f"column '{name}': expected numbers")
                block = np.where(np.isnan(values), column["fill"], values)[:, None]
            elif kind == "categorical":
                categories = column.get("categories", [])
                position = {value: i for i, value in enumerate(categories)}
                codes = np.array([position.get(v, -1) for v in values], dtype=np.int64)
                if self.categorical == "onehot":
                    block = np.zeros((rows, len(categories)), dtype=np.float32)
                    known = codes >= 0
                    block[np.flatnonzero(known), codes[known]] = 1.0
                else:
                    block = (codes + 1).astype(np.float32)[:, None]
            else:  # datetime
                parts = _datetime_parts(values)
                fill = np.asarray(column["fill"], dtype=np.float64)[None, :]
                block = np.where(np.isnan(parts), fill, parts)
            blocks.append(np.asarray(block, dtype=np.float32))
        encoded = np.concatenate(blocks, axis=1) if blocks else np.zeros((rows, 0), np.float32)
        return torch.from_numpy(np.ascontiguousarray(encoded, dtype=np.float32))

    def _table(self, x: Any) -> TableData:
        if isinstance(x, TableData):
            return x
        raise PredictionInputError(
            "this model takes table rows (CSV rows or {column: value} mappings) with the "
            f"columns {', '.join(c['name'] for c in self.columns)}"
        )

    def state(self) -> dict[str, Any]:
        return {
            "columns": self.columns,
            "impute": self.impute,
            "categorical": self.categorical,
            "max_categories": self.max_categories,
            "dropped": self.dropped,
        }
