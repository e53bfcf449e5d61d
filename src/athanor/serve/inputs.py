"""Turning files, images and rows into the raw arrays a model was trained on."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np

from athanor.data.schema import Schema
from athanor.errors import PredictionInputError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif"}


def decode_image(source: Any, schema: Schema, *, name: str = "image") -> np.ndarray:
    """A PIL image, path or bytes -> ``uint8 [C, H, W]`` at the model's size and channels.

    When the training images had a dark background (MNIST) and this one a light one (a
    scanned digit), it is inverted, and the other way round.

    Raises:
        PredictionInputError: unreadable or not an image, naming ``name``.
    """
    from PIL import Image, UnidentifiedImageError

    channels, height, width = schema.input.shape
    try:
        if isinstance(source, Image.Image):
            image = source
        elif isinstance(source, bytes | bytearray):
            image = Image.open(io.BytesIO(source))
        else:
            image = Image.open(Path(source))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise PredictionInputError(f"{name}: not a readable image ({exc})") from None
    image = image.convert("L" if channels == 1 else "RGB")
    if image.size != (width, height):
        # Area averaging when shrinking keeps thin strokes; bilinear when enlarging.
        shrinking = image.size[0] > width or image.size[1] > height
        resample = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
        image = image.resize((width, height), resample)
    array = np.asarray(image, dtype=np.uint8)
    array = array[None, :, :] if channels == 1 else array.transpose(2, 0, 1)
    background = schema.input.background
    if background is not None:
        border = np.concatenate(
            [
                array[:, 0, :].ravel(),
                array[:, -1, :].ravel(),
                array[:, :, 0].ravel(),
                array[:, :, -1].ravel(),
            ]
        )
        light = float(border.mean()) > 127.5
        if light != (background == "light"):
            array = 255 - array
    return np.ascontiguousarray(array)


def read_csv_rows(path: Path, schema: Schema) -> tuple[np.ndarray, list[str]]:
    """Rows of a CSV file as a ``float32 [N, features]`` array, with a label per row.

    A header row naming the model's features selects and orders columns by name; without
    one, each row must hold exactly the model's number of input values.

    Raises:
        PredictionInputError: naming the file, line and column that cannot be used.
    """
    expected = int(np.prod(schema.input.shape))
    features = schema.input.features
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise PredictionInputError(f"{path}: cannot read ({exc})") from None
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        raise PredictionInputError(f"{path}: no rows")
    columns: list[int] | None = None
    start = 1
    first = [cell.strip() for cell in rows[0]]
    if features and set(features) <= set(first):
        columns = [first.index(feature) for feature in features]
        start = 2
    elif not _numeric(first):
        if features:
            missing = sorted(set(features) - set(first))
            raise PredictionInputError(
                f"{path}:1: the header lacks the model's feature(s) {', '.join(missing)}"
            )
        start = 2
    body = rows[start - 1 :]
    values = np.empty((len(body), expected), dtype=np.float32)
    for offset, row in enumerate(body):
        line = start + offset
        cells = [row[c] if c < len(row) else "" for c in columns] if columns else row
        if len(cells) != expected:
            raise PredictionInputError(
                f"{path}:{line}: {len(cells)} values, the model takes {expected}"
            )
        for position, cell in enumerate(cells):
            try:
                values[offset, position] = float(cell)
            except ValueError:
                column = features[position] if features else str(position + 1)
                raise PredictionInputError(
                    f"{path}:{line}: column {column}: '{cell}' is not a number"
                ) from None
    return values, [f"{path.name}:{start + i}" for i in range(len(body))]


def _numeric(cells: list[str]) -> bool:
    try:
        [float(cell) for cell in cells]
    except ValueError:
        return False
    return True


def read_table_rows(path: Path, schema: Schema) -> tuple[Any, list[str]]:
    """Rows of a CSV file for a model with typed columns (``schema.input.columns``).

    Columns are matched by header name (extra columns, like the target, are ignored);
    empty cells are missing values that the saved imputation fills.

    Raises:
        PredictionInputError: unreadable file or missing columns, naming them.
    """
    from athanor.data.tables import read_delimited, rows_to_table
    from athanor.errors import DataError

    columns = schema.input.columns or []
    try:
        table, problems = read_delimited(path)
    except DataError as exc:
        raise PredictionInputError(str(exc)) from None
    if problems.ragged:
        line, count = problems.ragged[0]
        raise PredictionInputError(f"{path}:{line}: {count} fields, the header has more or fewer")
    missing = [c.name for c in columns if c.name not in table.values]
    if missing:
        raise PredictionInputError(
            f"{path}:1: the header lacks the model's column(s) {', '.join(missing)}"
        )
    rows = [{c.name: _cell(table.values[c.name][i]) for c in columns} for i in range(len(table))]
    return rows_to_table(rows, columns, str(path)), [f"{path.name}:{n}" for n in table.lines]


def _cell(value: Any) -> Any:
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else str(value)
    return value
