"""Tables for training: columns encoded by a fitted encoder, and column keys for splits."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from athanor.data.prepare._common import scaler
from athanor.data.preprocessing import Step
from athanor.data.raw import RawDataset
from athanor.data.tables import TableData
from athanor.errors import DataError
from athanor.spec.data import DataSpec


def split_keys(raw: RawDataset, spec: DataSpec, column: str) -> tuple[np.ndarray, RawDataset]:
    """A table column's values for group/time splits, and the dataset without that column.

    Args:
        column: ``group`` or ``time``: the ``data.split`` key naming the column. A group
            column is dropped from the inputs; a time column is kept.

    Raises:
        DataError: the dataset is not a table, or has no such column.
    """
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
        dropped = table.drop([name])
        return keys, replace(raw, x=dropped, features=dropped.names)
    return keys, raw


def table_steps(table: TableData, spec: DataSpec) -> list[Step]:
    """The column encoder (imputation, categories) of ``data.table``, then column scaling.

    The encoder is the first step; its fitted ``features`` and ``columns`` describe the
    network's inputs.
    """
    from athanor.data.encoding import TableEncoder

    encoder = TableEncoder(
        [c.model_dump() for c in table.columns],
        impute=spec.table.impute,
        categorical=spec.table.categorical,
        max_categories=spec.table.max_categories,
    )
    return [encoder, *scaler(spec.normalize, "column")]
