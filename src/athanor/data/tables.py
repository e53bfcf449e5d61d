"""Tables with typed raw columns: reading CSV/TSV/Parquet, inferring types, choosing a target.

Each column is ``numeric``, ``categorical``, ``boolean``, ``datetime`` or ``text``. Values are
held as numpy arrays: numeric and boolean as ``float64`` (NaN when missing), datetime as
``datetime64[ns]`` (NaT), categorical and text as ``object`` arrays of ``str`` (``None``).
``lines`` keeps each row's line in the source file, so that errors can name it.
"""

from __future__ import annotations

import csv
import io
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from athanor.data.schema import ColumnSchema, ColumnType, Task
from athanor.errors import DataError

MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "#n/a"})
TRUE = frozenset({"true", "t", "yes", "y"})
FALSE = frozenset({"false", "f", "no", "n"})
MAX_CLASSIFICATION_INTEGERS = 10
"""A numeric target of at most this many distinct integers is taken as class labels."""


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and value.strip().lower() in MISSING


@dataclass
class TableData:
    """Typed columns of equal length, in order, with the source line of each row."""

    columns: list[ColumnSchema]
    values: dict[str, np.ndarray]
    lines: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    source: str = "table"

    def __post_init__(self) -> None:
        if len(self.lines) != len(self):
            self.lines = np.arange(2, len(self) + 2, dtype=np.int64)  # after a header line

    def __len__(self) -> int:
        if not self.columns:
            return 0
        return len(self.values[self.columns[0].name])

    def copy(self) -> TableData:
        """A table of its own: copies of the columns and their arrays."""
        return TableData(
            [column.model_copy() for column in self.columns],
            {name: array.copy() for name, array in self.values.items()},
            self.lines.copy(),
            self.source,
        )

    def __getitem__(self, index: Any) -> TableData:
        return TableData(
            list(self.columns),
            {name: array[index] for name, array in self.values.items()},
            self.lines[index],
            self.source,
        )

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    @classmethod
    def concatenate(cls, tables: Sequence[TableData]) -> TableData:
        """The rows of ``tables`` (with the same columns) one after another."""
        first = tables[0]
        return cls(
            list(first.columns),
            {c.name: np.concatenate([t.values[c.name] for t in tables]) for c in first.columns},
            np.concatenate([t.lines for t in tables]),
            first.source,
        )

    def column(self, name: str) -> ColumnSchema:
        """The column called ``name``.

        Raises:
            DataError: naming the table and its columns.
        """
        for column in self.columns:
            if column.name == name:
                return column
        raise DataError(f"{self.source}: no column '{name}'; columns: {', '.join(self.names)}")

    def drop(self, names: Iterable[str]) -> TableData:
        dropped = set(names)
        return TableData(
            [c for c in self.columns if c.name not in dropped],
            {k: v for k, v in self.values.items() if k not in dropped},
            self.lines,
            self.source,
        )

    def check_finite(self, what: str = "column") -> None:
        """Refuse infinite numbers, naming the first column holding them and its lines.

        Args:
            what: how the message names a column (``column``, ``target column``).

        Raises:
            DataError: a numeric column holds ``inf`` or ``-inf``.
        """
        for column in self.columns:
            values = self.values[column.name]
            if values.dtype.kind != "f":
                continue
            infinite = np.isinf(values)
            if infinite.any():
                lines = self.lines[infinite]
                shown = ", ".join(map(str, lines[:5].tolist())) + (" ..." if len(lines) > 5 else "")
                raise DataError(
                    f"{self.source}: {what} '{column.name}' holds infinite values (inf or -inf) "
                    f"on line(s) {shown} ({len(lines)} row(s)); use finite numbers, or leave "
                    "those cells empty to have them imputed"
                )

    def missing_counts(self) -> dict[str, int]:
        return {c.name: int(missing_mask(self.values[c.name]).sum()) for c in self.columns}

    def split_target(
        self,
        target: str,
        task: Task | None,
        *,
        dataset: str,
        classes: list[str] | None = None,
    ) -> tuple[TableData, np.ndarray, list[str] | None, Task]:
        """Separate the ``target`` column: features, encoded targets, classes and task.

        Categorical, boolean and text targets (and numeric ones holding at most ten distinct
        integers) are class labels; other numeric targets are regression values.

        Raises:
            DataError: no such column, missing target values (naming their lines), or a
                target that cannot serve the task.
        """
        if target not in self.values:
            raise DataError(
                f"dataset '{dataset}': no target column '{target}'; columns: "
                f"{', '.join(self.names)}"
            )
        column = self.column(target)
        values = self.values[target]
        missing = missing_mask(values)
        if missing.any():
            lines = self.lines[missing]
            shown = ", ".join(map(str, lines[:5].tolist())) + (" ..." if len(lines) > 5 else "")
            raise DataError(
                f"{self.source}: target column '{target}' has no value on line(s) {shown} "
                f"({len(lines)} row(s)); fill them in, or import again with --skip-bad to "
                "drop those rows",
                code="target_missing_values",
                params={
                    "file": self.source,
                    "column": target,
                    "lines": shown,
                    "rows": len(lines),
                },
                field="target",
            )
        if task is None:
            task = _infer_task(column.type, values)
        if task == "classification":
            labels = np.array([_label_text(v) for v in values], dtype=object)
            if classes is None:
                distinct = set(labels.tolist())
                classes = sorted(distinct, key=_class_sort_key)
            index = {name: i for i, name in enumerate(classes)}
            unknown = [v for v in labels if v not in index]
            if unknown:
                raise DataError(
                    f"{self.source}: target '{target}' has class '{unknown[0]}' that the "
                    f"training data does not have (classes: {', '.join(classes)})"
                )
            y = np.array([index[v] for v in labels], dtype=np.int64)
        elif task == "regression":
            if column.type not in ("numeric", "boolean"):
                raise DataError(
                    f"data.target: '{target}' is a {column.type} column; regression needs "
                    "numbers (use data.task: classification)"
                )
            y = values.astype(np.float32)
            classes = None
        else:
            raise DataError(f"data.task: a table serves classification or regression, not {task}")
        return self.drop([target]), y, classes, task


def _infer_task(kind: ColumnType, values: np.ndarray) -> Task:
    if kind in ("categorical", "boolean", "text"):
        return "classification"
    if kind == "numeric":
        finite = values[np.isfinite(values)]
        distinct = np.unique(finite)
        if np.all(distinct == np.round(distinct)) and len(distinct) <= MAX_CLASSIFICATION_INTEGERS:
            return "classification"
        return "regression"
    raise DataError(f"a {kind} column cannot be a target")


def _label_text(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return str(int(value)) if float(value).is_integer() else str(value)
    return str(value)


def _class_sort_key(label: str) -> tuple[int, float, str]:
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def missing_mask(values: np.ndarray) -> np.ndarray:
    """True where ``values`` (one column) has no value."""
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind == "M":
        return np.isnat(values)
    import pandas as pd

    # each distinct value is judged once (a column has few): searches fit a table per trial
    codes, distinct = pd.factorize(values, use_na_sentinel=True)  # None and NaN: -1
    flags = np.array([_is_missing(v) for v in distinct] + [True], dtype=bool)
    return flags[codes]  # code -1 takes the last flag


# -- type inference --------------------------------------------------------------------


def infer_column(name: str, cells: Sequence[Any]) -> tuple[ColumnSchema, np.ndarray]:
    """The type of a column of strings (from a CSV file) and its typed values."""
    import pandas as pd

    raw = np.array(
        [None if _is_missing(c) else (c.strip() if isinstance(c, str) else c) for c in cells],
        dtype=object,
    )
    present = raw[[v is not None for v in raw]]
    if len(present) == 0:
        return ColumnSchema(name=name, type="numeric"), np.full(len(raw), np.nan)
    lowered = {str(v).lower() for v in present}
    if lowered <= (TRUE | FALSE) and len(lowered) <= 2:
        values = np.array(
            [np.nan if v is None else float(str(v).lower() in TRUE) for v in raw], dtype=np.float64
        )
        return ColumnSchema(name=name, type="boolean"), values
    numbers = pd.to_numeric(pd.Series(raw, dtype=object), errors="coerce").to_numpy(np.float64)
    if not np.isnan(numbers[[v is not None for v in raw]]).any():
        return ColumnSchema(name=name, type="numeric"), numbers
    if all(isinstance(v, str) and any(ch in v for ch in "-/:") for v in present[:1000]):
        try:
            stamps = pd.to_datetime(pd.Series(raw, dtype=object), errors="coerce", format="mixed")
        except (ValueError, TypeError):
            stamps = None
        if stamps is not None and not stamps[[v is not None for v in raw]].isna().any():
            values = stamps.dt.tz_localize(None) if stamps.dt.tz is not None else stamps
            return ColumnSchema(name=name, type="datetime"), values.to_numpy("datetime64[ns]")
    strings = np.array([None if v is None else str(v) for v in raw], dtype=object)
    distinct = len(set(strings[[v is not None for v in strings]].tolist()))
    mean_length = float(np.mean([len(v) for v in present[:1000]]))
    kind: ColumnType = (
        "text" if mean_length > 30 and distinct > 0.5 * len(present) else "categorical"
    )
    return ColumnSchema(name=name, type=kind), strings


def table_from_frame(frame: Any, source: str) -> TableData:
    """A :class:`TableData` from a pandas DataFrame (Parquet), types from its dtypes."""
    import pandas as pd

    columns: list[ColumnSchema] = []
    values: dict[str, np.ndarray] = {}
    for name in frame.columns:
        series = frame[name]
        label = str(name)
        if pd.api.types.is_bool_dtype(series):
            columns.append(ColumnSchema(name=label, type="boolean"))
            values[label] = series.astype("float64").to_numpy(np.float64, na_value=np.nan)
        elif pd.api.types.is_numeric_dtype(series):
            columns.append(ColumnSchema(name=label, type="numeric"))
            values[label] = series.astype("float64").to_numpy(np.float64, na_value=np.nan)
        elif pd.api.types.is_datetime64_any_dtype(series):
            if getattr(series.dt, "tz", None) is not None:
                series = series.dt.tz_localize(None)
            columns.append(ColumnSchema(name=label, type="datetime"))
            values[label] = series.to_numpy("datetime64[ns]")
        else:
            cells = [None if v is None or v is pd.NA else str(v) for v in series.tolist()]
            column, typed = infer_column(label, cells)
            columns.append(column)
            values[label] = typed
    return TableData(columns, values, np.arange(1, len(frame) + 1, dtype=np.int64), source)


MAX_WORKBOOK_BYTES = 512 * 1024 * 1024
"""Most bytes an Excel workbook may unpack to (its zip directory is checked before reading)."""


def read_workbook(path: Path) -> TableData:
    """The first sheet of an Excel workbook (``.xlsx``), its first row the header.

    Raises:
        DataError: not a readable workbook, or one that unpacks beyond
            :data:`MAX_WORKBOOK_BYTES`.
    """
    import zipfile

    import pandas as pd

    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(item.file_size for item in archive.infolist())
    except (OSError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: not a readable Excel workbook (.xlsx) ({exc})") from None
    if unpacked > MAX_WORKBOOK_BYTES:
        raise DataError(
            f"{path}: the workbook unpacks to {unpacked:,} bytes, beyond the limit of "
            f"{MAX_WORKBOOK_BYTES:,}; export the sheet as CSV"
        )
    try:
        frame = pd.read_excel(path, sheet_name=0, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for a bad file
        raise DataError(f"{path}: not a readable Excel workbook (.xlsx) ({exc})") from None
    frame.columns = [str(name).strip() for name in frame.columns]
    table = table_from_frame(frame, str(path))
    table.lines = np.arange(2, len(table) + 2, dtype=np.int64)  # the sheet's row numbers
    return table


def column_overview(table: TableData, examples: int = 3) -> list[dict[str, Any]]:
    """Per column: ``name``, ``type`` and up to ``examples`` distinct example values, as
    text (to choose a target from)."""
    overview = []
    for column in table.columns:
        values = table.values[column.name]
        shown: list[str] = []
        for value in values[~missing_mask(values)]:
            text = _label_text(value) if column.type != "datetime" else str(value)[:19]
            if text not in shown:
                shown.append(text[:40])
            if len(shown) >= examples:
                break
        overview.append({"name": column.name, "type": column.type, "examples": shown})
    return overview


class TargetRequired(DataError):
    """A table imported without a target column: lists its columns to choose from.

    Attributes:
        columns: :func:`column_overview` of the table.
    """

    code = "target_required"

    def __init__(self, message: str, columns: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message, field="target")
        self.columns = list(columns or [])

    @classmethod
    def of_table(cls, source: str, columns: list[dict[str, Any]]) -> TargetRequired:
        """The error for the table ``source`` with these columns (a message listing them)."""
        width = max(len(c["name"]) for c in columns) if columns else 0
        listing = "\n".join(
            f"  {c['name']:<{width}}  {c['type']:<11}  e.g. {', '.join(c['examples']) or '-'}"
            for c in columns
        )
        return cls(
            f"{source}: which column should the model predict? Choose the target with "
            '--target COLUMN (Python: target=..., REST: "target"); a categorical column '
            f"makes a classifier, a numeric one a regressor. Its columns:\n{listing}",
            columns,
        )

    @property
    def details(self) -> dict[str, Any]:
        """What the REST API adds to its error body: the columns, when known."""
        return {"columns": self.columns} if self.columns else {}


def table_to_frame(table: TableData) -> Any:
    """The table as a pandas DataFrame (for Parquet files and previews)."""
    import pandas as pd

    return pd.DataFrame({c.name: table.values[c.name] for c in table.columns})


@dataclass
class CsvProblems:
    """Rows of a CSV file that could not be used, by line."""

    ragged: list[tuple[int, int]] = field(default_factory=list)
    """(line, number of fields) of rows whose field count differs from the header's."""


def decode_text(content: bytes, source: str, encoding: str = "utf-8") -> str:
    """Decode file bytes, naming the line of the first undecodable byte.

    Raises:
        DataError: the bytes are not valid in ``encoding``.
    """
    try:
        text = content.decode("utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding)
    except UnicodeDecodeError as exc:
        from athanor.data.charsets import likely_encoding

        line = content[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{source}:{line}: not valid {encoding} (byte 0x{content[exc.start]:02x} at offset "
            f"{exc.start}); save the file as UTF-8 or pass --encoding: it looks like "
            f"{likely_encoding(content)}"
        ) from None
    except LookupError:
        raise DataError(f"--encoding: unknown text encoding '{encoding}'") from None
    return text


PARSED_TABLES_KEPT = 4
"""Parsed CSV files :func:`read_delimited` keeps in a process, the most recently read."""
PARSED_TABLE_MAX_BYTES = 64 * 2**20
"""Files larger than this are parsed each time (their columns would hold too much memory)."""
_parsed: OrderedDict[tuple[Any, ...], tuple[TableData, CsvProblems]] = OrderedDict()
_parsed_lock = threading.Lock()


def read_delimited(
    path: Path, *, encoding: str = "utf-8", delimiter: str | None = None
) -> tuple[TableData, CsvProblems]:
    """Read a CSV or TSV file with a header row into typed columns.

    The delimiter is a tab for ``.tsv``/``.tab`` files, else sniffed among ``, ; | tab``.
    Blank lines are ignored. Rows whose field count differs from the header's are left out
    and returned in the problems (the caller decides whether that is an error).

    A file read before in this process and unchanged since (the same size and modification
    time) is not parsed again: the trials of a search all load the same table, and parsing
    20,000 rows takes longer than a trial's first epoch. Each call gets its own copy.

    Raises:
        DataError: unreadable, not decodable, no header, or duplicate column names.
    """
    try:
        stat = path.stat()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    key = (
        str(path.resolve()),
        stat.st_dev,
        stat.st_ino,
        stat.st_size,
        stat.st_mtime_ns,
        encoding,
        delimiter,
    )
    with _parsed_lock:
        found = _parsed.get(key)
        if found is not None:
            _parsed.move_to_end(key)
    if found is None:
        found = _parse_delimited(path, encoding, delimiter)
        if stat.st_size <= PARSED_TABLE_MAX_BYTES:
            with _parsed_lock:
                _parsed[key] = found
                while len(_parsed) > PARSED_TABLES_KEPT:
                    _parsed.popitem(last=False)
    table, problems = found
    return table.copy(), CsvProblems(list(problems.ragged))


def _parse_delimited(
    path: Path, encoding: str, delimiter: str | None
) -> tuple[TableData, CsvProblems]:
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    text = decode_text(content, str(path), encoding)
    if delimiter is None:
        if path.suffix.lower() in (".tsv", ".tab"):
            delimiter = "\t"
        else:
            try:
                delimiter = csv.Sniffer().sniff(text[:65536], delimiters=",;\t|").delimiter
            except csv.Error:
                delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    problems = CsvProblems()
    start_line = 1
    try:
        for row in reader:
            line = start_line
            start_line = reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = [cell.strip() for cell in row]
                continue
            if len(row) != len(header):
                problems.ragged.append((line, len(row)))
                continue
            rows.append(row)
            lines.append(line)
    except csv.Error as exc:
        raise DataError(f"{path}:{reader.line_num}: unreadable CSV ({exc})") from None
    if header is None:
        raise DataError(f"{path}: empty file (no header row)")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates or "" in header:
        what = f"duplicate column(s) {', '.join(duplicates)}" if duplicates else "an unnamed column"
        raise DataError(f"{path}:1: the header has {what}; every column needs its own name")
    columns: list[ColumnSchema] = []
    values: dict[str, np.ndarray] = {}
    for position, name in enumerate(header):
        column, typed = infer_column(name, [row[position] for row in rows])
        columns.append(column)
        values[name] = typed
    return TableData(columns, values, np.array(lines, dtype=np.int64), str(path)), problems


def rows_to_table(
    rows: Sequence[Mapping[str, Any] | Sequence[Any]],
    columns: list[ColumnSchema],
    source: str,
    *,
    labels: Sequence[str] | None = None,
) -> TableData:
    """Rows given as mappings or sequences, typed as ``columns`` say (prediction inputs).

    Keys of a mapping that are not columns (an id, the target) are ignored; empty cells and
    nulls become missing values (the saved imputation fills them).

    Args:
        labels: how messages name each row (default ``<source> <index>``).

    Raises:
        PredictionInputError: a mapping without a column's key, a row of the wrong length,
            or a value of the wrong type, naming the row and the columns.
    """
    import pandas as pd

    from athanor.errors import PredictionInputError

    names = ", ".join(c.name for c in columns)
    where = list(labels) if labels is not None else [f"{source} {i}" for i in range(len(rows))]
    cells: dict[str, list[Any]] = {c.name: [] for c in columns}
    for number, row in enumerate(rows):
        if isinstance(row, Mapping):
            absent = [c.name for c in columns if c.name not in row]
            if absent:
                raise PredictionInputError(
                    f"{where[number]}: missing column(s) {', '.join(absent)}; the model takes "
                    f"{names} (in any order; other keys are ignored; null for a missing value)"
                )
            for column in columns:
                cells[column.name].append(row[column.name])
        else:
            if len(row) != len(columns):
                raise PredictionInputError(
                    f"{where[number]}: {len(row)} values, the model takes {len(columns)} ({names})"
                )
            for column, value in zip(columns, row, strict=True):
                cells[column.name].append(value)
    values: dict[str, np.ndarray] = {}
    for column in columns:
        raw = [None if _is_missing(v) else v for v in cells[column.name]]
        if column.type in ("numeric", "boolean"):
            typed = np.empty(len(raw), dtype=np.float64)
            for i, value in enumerate(raw):
                if value is None:
                    typed[i] = np.nan
                elif column.type == "boolean" and isinstance(value, str):
                    typed[i] = float(value.strip().lower() in TRUE)
                else:
                    try:
                        typed[i] = float(value)
                    except (TypeError, ValueError):
                        raise PredictionInputError(
                            f"{where[i]}: column {column.name}: '{value}' is not a number"
                        ) from None
        elif column.type == "datetime":
            stamps = pd.to_datetime(pd.Series(raw, dtype=object), errors="coerce", format="mixed")
            typed = stamps.to_numpy("datetime64[ns]")
        else:
            typed = np.array([None if v is None else str(v).strip() for v in raw], dtype=object)
        values[column.name] = typed
    return TableData(list(columns), values, np.arange(1, len(rows) + 1), source)
