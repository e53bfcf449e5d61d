"""Batch prediction: folders of images and CSV files streamed through a model into a CSV
(or, for a detector, a COCO JSON file).

Inputs are read and predicted a batch at a time, so a folder of any size runs in bounded
memory (a COCO file keeps its boxes until the end, as it is one JSON document). An item
that cannot be used (an unreadable image, a row with a wrong value) is recorded with the
reason and skipped; the others are predicted. The output appears in one rename when
everything is done, so an interrupted run leaves no partial file.
"""

from __future__ import annotations

import csv
import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from athanor.errors import PredictionInputError, UserError
from athanor.serve.inputs import (
    IMAGE_SUFFIXES,
    TEXT_SUFFIXES,
    decode_image,
    iter_csv_rows,
    iter_table_rows,
    read_text_file,
    table_of_rows,
)
from athanor.serve.predictor import Predictor

READABLE_SUFFIXES = IMAGE_SUFFIXES | {".csv"}
OUTPUT_FORMATS = ("csv", "coco")
"""What batch prediction writes: a CSV (any model) or COCO JSON (detectors)."""


@dataclass
class BatchPredictionSummary:
    """How a batch prediction went.

    Attributes:
        output: the predictions CSV.
        predicted: items predicted.
        failures: ``(item, reason)`` of each item skipped.
        errors_file: a CSV of the failures, when there were any.
    """

    output: Path
    format: str = "csv"
    predicted: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    errors_file: Path | None = None


def list_sources(sources: list[Path], *, image_model: bool, text_model: bool = False) -> list[Path]:
    """Files to read: the given files, and the images (image models), text files (text
    models) and CSV files under given folders.

    Raises:
        PredictionInputError: a path that does not exist.
    """
    files: list[Path] = []
    suffixes = READABLE_SUFFIXES if image_model else {".csv"}
    if text_model:
        suffixes = suffixes | TEXT_SUFFIXES
    for source in sources:
        if source.is_dir():
            files.extend(
                sorted(
                    path
                    for path in source.rglob("*")
                    if path.is_file() and path.suffix.lower() in suffixes
                )
            )
        elif source.is_file():
            files.append(source)
        else:
            raise PredictionInputError(f"{source}: no such file or folder")
    return files


def count_items(files: list[Path]) -> int:
    """Roughly how many items the files hold (CSV lines count; a header counts too)."""
    total = 0
    for path in files:
        if path.suffix.lower() == ".csv":
            with path.open("rb") as handle:
                total += sum(
                    chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")
                )
        else:
            total += 1
    return total


def iter_items(
    predictor: Predictor, files: list[Path]
) -> Iterator[tuple[str, np.ndarray | str | PredictionInputError]]:
    """``(item name, raw sample or the reason it cannot be used)`` for every item, in order."""
    shape = tuple(predictor.schema.input.shape)
    for path in files:
        suffix = path.suffix.lower()
        if suffix == ".csv":
            try:
                with path.open(encoding="utf-8-sig", newline="") as handle:
                    for line, row in iter_csv_rows(handle, predictor.schema, name=str(path)):
                        item = f"{path}:{line}"
                        yield (
                            item,
                            row if isinstance(row, PredictionInputError) else row.reshape(shape),
                        )
            except PredictionInputError as exc:
                yield str(path), exc
            except (OSError, UnicodeDecodeError) as exc:
                yield str(path), PredictionInputError(f"{path}: cannot read ({exc})")
        elif suffix in TEXT_SUFFIXES and predictor.schema.input.kind == "tokens":
            try:
                yield str(path), read_text_file(path)
            except PredictionInputError as exc:
                yield str(path), exc
        elif suffix in IMAGE_SUFFIXES and predictor.schema.input.kind == "image":
            try:
                yield str(path), decode_image(path, predictor.schema, name=str(path))
            except PredictionInputError as exc:
                yield str(path), exc
        else:
            yield str(path), PredictionInputError(f"{path}: unsupported input file")


def _table_items(
    predictor: Predictor, files: list[Path]
) -> Iterator[tuple[str, dict[str, str] | PredictionInputError]]:
    """``(file:line, {column: cell} or the reason it cannot be used)`` of a table model.

    Raises:
        PredictionInputError: a header lacking the model's columns (the file is made wrong,
            not one of its rows): nothing is predicted.
    """
    for path in files:
        if path.suffix.lower() != ".csv":
            yield str(path), PredictionInputError(f"{path}: unsupported input file (not CSV)")
            continue
        try:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                for line, row in iter_table_rows(handle, predictor.schema, name=str(path)):
                    yield f"{path}:{line}", row
        except (OSError, UnicodeDecodeError) as exc:
            yield str(path), PredictionInputError(f"{path}: cannot read ({exc})")


def given_columns(predictor: Predictor, files: list[Path]) -> list[str]:
    """The columns of the first CSV file as given (its header, or the model's columns when
    it has none): a table model's predictions repeat them beside each prediction."""
    columns = [c.name for c in predictor.schema.input.columns or []]
    for path in files:
        if path.suffix.lower() != ".csv":
            continue
        try:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                for _line, row in iter_table_rows(handle, predictor.schema, name=str(path)):
                    if isinstance(row, dict):
                        return list(row)
        except (PredictionInputError, OSError, UnicodeDecodeError):
            continue
    return columns


def _header(predictor: Predictor) -> list[str]:
    schema = predictor.schema
    if schema.task == "detection":  # one row per box
        return ["input", "label", "class", "score", "x0", "y0", "x1", "y1"]
    if schema.task == "classification":
        return ["input", "label", "probability", *(f"p_{c}" for c in schema.classes or [])]
    width = int(np.prod(schema.output_shape))
    target = schema.target or "value"
    return ["input", *([target] if width == 1 else [f"{target}_{i}" for i in range(width)])]


def _detections(
    predictor: Predictor, items: list[str], maps: np.ndarray, threshold: float | None
) -> tuple[list[tuple[int, int] | None], list[list[dict[str, Any]]]]:
    """Each image's ``(width, height)`` and its boxes in those pixels."""
    from athanor.serve.detection_prediction import MIN_SCORE, detected_boxes, source_size

    sizes = [source_size(item) for item in items]
    found = detected_boxes(
        predictor.schema, maps, sizes=sizes, threshold=MIN_SCORE if threshold is None else threshold
    )
    return sizes, found


def _rows(
    predictor: Predictor, items: list[str], scores: np.ndarray, threshold: float | None = None
) -> list[list[object]]:
    if predictor.schema.task == "detection":
        _sizes, found = _detections(predictor, items, scores, threshold)
        return [
            [item, box["label"], box["class"], box["score"], *box["xyxy"]]
            for item, boxes in zip(items, found, strict=True)
            for box in boxes
        ]
    if predictor.schema.task == "classification":
        classes = predictor.schema.classes or []
        best = scores.argmax(axis=1)
        return [
            [item, classes[b], f"{row[b]:.6g}", *(f"{p:.6g}" for p in row)]
            for item, b, row in zip(items, best, scores, strict=True)
        ]
    # Values at float32's full precision (a price of 118,119.73 dollars stays one), without
    # an exponent where the shortest form has none.
    return [
        [item, *(str(np.float32(v)) for v in row.reshape(-1))]
        for item, row in zip(items, scores, strict=True)
    ]


def output_format(predictor: Predictor, output: Path, chosen: str | None = None) -> str:
    """What to write to ``output``: ``chosen`` when given, else COCO JSON for a detector
    writing to a ``.json`` file and a CSV otherwise.

    Raises:
        UserError: an unknown format, or COCO for a model that is not a detector.
    """
    detector = predictor.schema.task == "detection"
    if chosen is None:
        return "coco" if detector and Path(output).suffix.lower() == ".json" else "csv"
    if chosen not in OUTPUT_FORMATS:
        raise UserError(f"--format {chosen}: must be one of {', '.join(OUTPUT_FORMATS)}")
    if chosen == "coco" and not detector:
        raise UserError(
            f"--format coco: {predictor.ref} is a {predictor.schema.task} model; COCO results "
            "hold boxes, so only a detector writes them (use --format csv)"
        )
    return chosen


class _CocoResults:
    """A detector's boxes as a COCO document: ``images`` (id, file_name, width, height),
    ``categories`` (ids 1, 2, ... in class order, as dataset exports number them) and
    ``annotations`` in COCO's results format (image_id, category_id, bbox ``[x, y, width,
    height]`` in pixels, score) with the id, area and iscrowd that COCO's loader needs."""

    def __init__(self, predictor: Predictor) -> None:
        classes = predictor.schema.classes or []
        self.document: dict[str, Any] = {
            "info": {"description": f"predictions of {predictor.ref}"},
            "images": [],
            "categories": [
                {"id": index + 1, "name": name, "supercategory": ""}
                for index, name in enumerate(classes)
            ],
            "annotations": [],
        }

    def add(self, items: list[str], sizes: list, found: list[list[dict[str, Any]]]) -> None:
        images, annotations = self.document["images"], self.document["annotations"]
        for item, size, boxes in zip(items, sizes, found, strict=True):
            image_id = len(images) + 1
            width, height = size if size else (None, None)
            images.append({"id": image_id, "file_name": item, "width": width, "height": height})
            for box in boxes:
                x0, y0, x1, y1 = box["xyxy"]
                w, h = round(x1 - x0, 2), round(y1 - y0, 2)
                annotations.append(
                    {
                        "id": len(annotations) + 1,
                        "image_id": image_id,
                        "category_id": box["class"] + 1,
                        "bbox": [x0, y0, w, h],
                        "area": round(w * h, 4),
                        "score": box["score"],
                        "iscrowd": 0,
                    }
                )

    def write(self, handle: Any) -> None:
        json.dump(self.document, handle)


def predict_files(
    predictor: Predictor,
    sources: list[Path],
    output: Path,
    *,
    batch_size: int = 256,
    on_progress: Callable[[int], None] | None = None,
    file_format: str | None = None,
    threshold: float | None = None,
) -> BatchPredictionSummary:
    """Predict every item of ``sources`` into ``output``, skipping unusable items.

    Args:
        predictor: the model.
        sources: image files, CSV files, text files (text models) and folders of them.
        output: the file to write. A CSV: ``input``, then ``label``, ``probability`` and
            one ``p_<class>`` column per class (classifiers), the predicted values, or one
            row per box (detectors: ``label, class, score, x0, y0, x1, y1``). For a table
            model, the columns of the first CSV as given come after ``input`` (one named
            like an output column as ``<name>_given``). COCO JSON (detectors): the images,
            the categories and the boxes as annotations with their scores.
        batch_size: samples per forward pass (default 256).
        on_progress: called with the number of items handled since the last call.
        file_format: ``csv`` or ``coco`` (default: :func:`output_format` by the suffix).
        threshold: detectors: the lowest box score kept (default 0.3).

    Returns:
        Counts, and the failures (also written to ``<output stem>.errors.csv``).

    Raises:
        PredictionInputError: a source that does not exist, or a table model's CSV whose
            header lacks a column the model takes (nothing is written).
        UserError: the output's folder does not exist, or a format the model cannot write.
    """
    output = Path(output)
    if not output.parent.is_dir():
        raise UserError(f"{output.parent}: no such folder for the output")
    chosen = output_format(predictor, output, file_format)
    coco = _CocoResults(predictor) if chosen == "coco" else None
    kind = predictor.schema.input.kind
    files = list_sources(sources, image_model=kind == "image", text_model=kind == "tokens")
    summary = BatchPredictionSummary(output, format=chosen)
    table_model = bool(predictor.schema.input.columns)
    given = given_columns(predictor, files) if table_model else []
    header = _header(predictor)
    # A given column named like an output column (the target beside its prediction) is
    # written as <name>_given.
    given_header = [f"{c}_given" if c in header else c for c in given]
    temporary = output.with_name(f".{output.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        with temporary.open("w", newline="") as handle:
            writer = csv.writer(handle)
            if coco is None:
                writer.writerow([header[0], *given_header, *header[1:]])
            names: list[str] = []
            batch: list[np.ndarray | str | dict[str, str]] = []

            def flush() -> None:
                if table_model:
                    flush_rows()
                    return
                # Texts go to the model's tokenizer as a list; arrays are stacked.
                texts = isinstance(batch[0], str)
                scores = predictor.scores(batch if texts else np.stack(batch))  # type: ignore[arg-type]
                if coco is not None:
                    coco.add(names, *_detections(predictor, names, scores, threshold))
                else:
                    writer.writerows(_rows(predictor, names, scores, threshold))
                done(len(batch))
                names.clear()
                batch.clear()

            def flush_rows() -> None:
                rows: list[tuple[str, dict[str, str]]] = list(zip(names, batch, strict=True))  # type: ignore[arg-type]
                try:
                    table = table_of_rows([r for _, r in rows], predictor.schema, list(names))
                except PredictionInputError:
                    table = None
                    usable = []  # find the bad rows one by one; the others are predicted
                    for name, row in rows:
                        try:
                            table_of_rows([row], predictor.schema, [name])
                        except PredictionInputError as exc:
                            summary.failures.append((name, str(exc)))
                            if on_progress is not None:
                                on_progress(1)
                        else:
                            usable.append((name, row))
                    rows = usable
                names.clear()
                batch.clear()
                if not rows:
                    return
                labels = [name for name, _ in rows]
                if table is None:
                    table = table_of_rows([row for _, row in rows], predictor.schema, labels)
                scores = predictor.scores(table)
                for (_, row), out in zip(rows, _rows(predictor, labels, scores), strict=True):
                    writer.writerow([out[0], *(row.get(c, "") for c in given), *out[1:]])
                done(len(rows))

            def done(count: int) -> None:
                summary.predicted += count
                if on_progress is not None:
                    on_progress(count)

            items = _table_items(predictor, files) if table_model else iter_items(predictor, files)
            for name, item in items:
                if isinstance(item, PredictionInputError):
                    summary.failures.append((name, str(item)))
                    if on_progress is not None:
                        on_progress(1)
                    continue
                names.append(name)
                batch.append(item)
                if len(batch) >= batch_size:
                    flush()
            if batch:
                flush()
            if coco is not None:
                coco.write(handle)
        os.replace(temporary, output)
    finally:
        if temporary.exists():
            temporary.unlink()
    if summary.failures:
        summary.errors_file = output.with_name(f"{output.stem}.errors.csv")
        with summary.errors_file.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["input", "error"])
            writer.writerows(summary.failures)
    return summary
