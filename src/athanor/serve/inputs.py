"""Turning files, images, rows and text documents into the raw inputs a model was trained on."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from athanor.data.image_decoding import ImageTooLarge, check_image_size, decoded_image
from athanor.data.schema import Schema
from athanor.errors import DataError, PredictionInputError, ResourceLimitError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif"}
TEXT_SUFFIXES = {".txt", ".text", ".md"}


class PredictionInputTooLarge(PredictionInputError, ResourceLimitError):
    """An input image beyond the pixel limit: names the input and the limit."""

    http_status = 413  # a resource limit, not an input that does not fit the model (422)


def decode_image(source: Any, schema: Schema, *, name: str = "image") -> np.ndarray:
    """A PIL image, path or bytes -> ``uint8 [C, H, W]`` at the model's size and channels.

    When the training images had a dark background (MNIST) and this one a light one (a
    scanned digit), it is inverted, and the other way round.

    Images are decoded by :func:`athanor.data.image_decoding.decoded_image`: only
    :data:`~athanor.data.image_decoding.IMAGE_FORMATS`, within the pixel limit.

    Raises:
        PredictionInputTooLarge: more pixels than ``ATHANOR_MAX_IMAGE_PIXELS``, naming
            ``name`` and the limit.
        PredictionInputError: unreadable or not an image, naming ``name``.
    """
    from PIL import Image

    if isinstance(source, Image.Image):
        try:
            check_image_size(*source.size, name)
        except ImageTooLarge as exc:
            raise PredictionInputTooLarge(str(exc)) from None
        return _fit(source, schema)
    try:
        with decoded_image(source, name) as image:
            return _fit(image, schema)
    except ImageTooLarge as exc:
        raise PredictionInputTooLarge(str(exc)) from None
    except DataError as exc:
        raise PredictionInputError(str(exc)) from None


def _fit(image: Any, schema: Schema) -> np.ndarray:
    from PIL import Image

    channels, height, width = schema.input.shape
    mode = "L" if channels == 1 else "RGB"
    if image.mode != mode:  # (converting to its own mode would only copy it)
        image = image.convert(mode)
    if image.size != (width, height):
        # Area averaging when shrinking keeps thin strokes; bilinear when enlarging.
        shrinking = image.size[0] > width or image.size[1] > height
        resample = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
        image = image.resize((width, height), resample)
    # A writable array (as torch.from_numpy wants) over one copy of the pixels.
    array = np.frombuffer(bytearray(image.tobytes()), dtype=np.uint8)
    if channels == 1:
        array = array.reshape(1, height, width)
    else:
        array = np.ascontiguousarray(array.reshape(height, width, channels).transpose(2, 0, 1))
    background = schema.input.background
    if background is not None:
        # Whether the border (corners counted twice) is light on average: its mean above
        # 127.5, in whole numbers.
        border = (
            int(array[:, 0, :].sum())
            + int(array[:, -1, :].sum())
            + int(array[:, :, 0].sum())
            + int(array[:, :, -1].sum())
        )
        light = 2 * border > 255 * 2 * channels * (width + height)
        if light != (background == "light"):
            array = 255 - array
    return array


def read_text_file(path: Path) -> str:
    """A document to classify: the text of a ``.txt``/``.text``/``.md`` file (UTF-8).

    Raises:
        PredictionInputError: the file cannot be read or is not UTF-8 text, naming it.
    """
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise PredictionInputError(f"{path}: cannot read ({exc})") from None
    try:
        return content.decode("utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise PredictionInputError(
            f"{path}:{line}: not valid UTF-8 (byte 0x{content[exc.start]:02x} at offset "
            f"{exc.start}); save the file as UTF-8"
        ) from None


def read_csv_rows(path: Path, schema: Schema) -> tuple[np.ndarray, list[str]]:
    """Rows of a CSV file as a ``float32 [N, features]`` array, with a label per row.

    A header row naming the model's features selects and orders columns by name; without
    one, each row must hold exactly the model's number of input values.

    Raises:
        PredictionInputError: naming the file, line and column that cannot be used.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise PredictionInputError(f"{path}: cannot read ({exc})") from None
    return parse_csv_text(text, schema, name=str(path), label=path.name)


def parse_csv_text(
    text: str, schema: Schema, *, name: str, label: str | None = None
) -> tuple[np.ndarray, list[str]]:
    """Like :func:`read_csv_rows` for CSV text (an upload); ``name`` is used in messages.

    Raises:
        PredictionInputError: naming ``name``, the line and the column that cannot be used.
    """
    rows: list[np.ndarray] = []
    labels: list[str] = []
    for line, row in iter_csv_rows(io.StringIO(text), schema, name=name):
        if isinstance(row, PredictionInputError):
            raise row
        rows.append(row)
        labels.append(f"{label or name}:{line}")
    if not rows:
        raise PredictionInputError(f"{name}: no rows")
    return np.stack(rows), labels


def iter_csv_rows(
    lines: Iterable[str], schema: Schema, *, name: str
) -> Iterator[tuple[int, np.ndarray | PredictionInputError]]:
    """Stream ``(line number, float32 [features] row or the error of that row)``.

    A row that cannot be used yields its error instead of stopping the stream, so a batch
    prediction can go on past it; a header that lacks the model's features stops it.

    Raises:
        PredictionInputError: the header lacks a feature of the model.
    """
    expected = int(np.prod(schema.input.shape))
    features = schema.input.features
    columns: list[int] | None = None
    first_row = True
    for line, row in _numbered_rows(lines):
        cells = [cell.strip() for cell in row]
        if first_row:
            first_row = False
            if features and set(features) <= set(cells):
                columns = [cells.index(feature) for feature in features]
                continue
            if not _numeric(cells):
                if features:
                    missing = sorted(set(features) - set(cells))
                    raise PredictionInputError(
                        f"{name}:{line}: the header lacks the model's feature(s) "
                        + ", ".join(missing)
                    )
                continue
        if columns is not None:
            cells = [cells[c] if c < len(cells) else "" for c in columns]
        yield line, _row_values(cells, expected, features, f"{name}:{line}")


def _numbered_rows(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    # csv.reader's line_num counts physical lines, so quoted newlines keep numbers right.
    reader = csv.reader(lines)
    for row in reader:
        if any(cell.strip() for cell in row):
            yield reader.line_num, row


def _row_values(
    cells: list[str], expected: int, features: list[str] | None, where: str
) -> np.ndarray | PredictionInputError:
    if len(cells) != expected:
        return PredictionInputError(f"{where}: {len(cells)} values, the model takes {expected}")
    values = np.empty(expected, dtype=np.float32)
    for position, cell in enumerate(cells):
        try:
            values[position] = float(cell)
        except ValueError:
            column = features[position] if features else str(position + 1)
            if not cell.strip():
                return PredictionInputError(f"{where}: column {column}: no value (a number)")
            return PredictionInputError(f"{where}: column {column}: '{cell}' is not a number")
        if not np.isfinite(values[position]):
            column = features[position] if features else str(position + 1)
            return PredictionInputError(f"{where}: column {column}: '{cell}' is not finite")
    return values


def _numeric(cells: list[str]) -> bool:
    try:
        [float(cell) for cell in cells]
    except ValueError:
        return False
    return True


def model_columns(schema: Schema) -> str:
    """The raw columns a table model takes, for messages: ``a, b, c``."""
    return ", ".join(c.name for c in schema.input.columns or [])


def header_given(content_type: str) -> bool | None:
    """RFC 4180's ``header`` parameter of a ``text/csv`` content type: ``present`` is True,
    ``absent`` False, anything else None (then the first row tells)."""
    for parameter in content_type.split(";")[1:]:
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "header":
            value = value.strip().strip('"').lower()
            return {"present": True, "absent": False}.get(value)
    return None


def iter_table_rows(
    lines: Iterable[str], schema: Schema, *, name: str, header: bool | None = None
) -> Iterator[tuple[int, dict[str, str] | PredictionInputError]]:
    """Stream the rows of a CSV for a table model: ``(line, {column: cell})``, or the error
    of a row that cannot be used (so that a batch prediction goes on past it).

    With a header, columns are matched by name: any order, and columns the model does not
    take (an id, the target) are kept in the mapping but not used. Without one, a row holds
    the model's columns in their imported order. ``header`` None means: the first row is a
    header when it names a column of the model (or its target).

    Raises:
        PredictionInputError: a header lacking columns of the model, naming them and the
            valid columns.
    """
    columns = [c.name for c in schema.input.columns or []]
    names: list[str] | None = None
    for line, row in _numbered_rows(lines):
        cells = [cell.strip() for cell in row]
        if names is None and header is not False:
            known = set(columns) | {schema.target}
            if header or known & set(cells):
                missing = [c for c in columns if c not in cells]
                if missing:
                    raise PredictionInputError(
                        f"{name}:{line}: the header lacks the model's column(s) "
                        f"{', '.join(missing)}; the model takes {model_columns(schema)} "
                        "(in any order; other columns are ignored)"
                    )
                names = cells
                continue
            header = False
        if names is None:
            if len(cells) != len(columns):
                yield (
                    line,
                    PredictionInputError(
                        f"{name}:{line}: {len(cells)} values and no header; without a header a row "
                        f"holds the model's {len(columns)} columns in this order: "
                        f"{model_columns(schema)} (or add a header row naming them)"
                    ),
                )
                continue
            yield line, dict(zip(columns, cells, strict=True))
        else:
            yield line, {n: (cells[i] if i < len(cells) else "") for i, n in enumerate(names)}


def table_of_rows(
    rows: list[dict[str, Any]], schema: Schema, labels: list[str], *, source: str = "input"
) -> Any:
    """Rows (``{column: value}``) typed as the model's columns, as a ``TableData``.

    Raises:
        PredictionInputError: a value of the wrong type, naming its row and column.
    """
    from athanor.data.tables import rows_to_table

    return rows_to_table(rows, schema.input.columns or [], source, labels=labels)


def parse_table_text(
    text: str, schema: Schema, *, name: str, header: bool | None = None
) -> tuple[Any, list[str]]:
    """CSV text (an upload, a body) for a table model: its rows as a ``TableData`` and a
    ``name:line`` label per row.

    Raises:
        PredictionInputError: missing columns, a bad value or no rows, naming them.
    """
    rows: list[dict[str, str]] = []
    labels: list[str] = []
    rows_of_text = iter_table_rows(io.StringIO(text, newline=""), schema, name=name, header=header)
    for line, row in rows_of_text:
        if isinstance(row, PredictionInputError):
            raise row
        rows.append(row)
        labels.append(f"{name}:{line}")
    if not rows:
        raise PredictionInputError(f"{name}: no rows")
    return table_of_rows(rows, schema, labels, source=name), labels


def read_table_rows(path: Path, schema: Schema) -> tuple[Any, list[str]]:
    """Rows of a CSV file for a model with typed columns (``schema.input.columns``).

    Columns are matched by header name (extra columns, like the target, are ignored);
    empty cells are missing values that the saved imputation fills.

    Raises:
        PredictionInputError: unreadable file or missing columns, naming them.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise PredictionInputError(f"{path}: cannot read ({exc})") from None
    table, labels = parse_table_text(text, schema, name=str(path))
    return table, [f"{path.name}:{label.rsplit(':', 1)[1]}" for label in labels]


def concatenate(batches: list[Any]) -> Any:
    """Raw batches joined in order: arrays, or the tables of a table model."""
    from athanor.data.tables import TableData

    if isinstance(batches[0], TableData):
        return TableData.concatenate(batches)
    return np.concatenate(batches)
