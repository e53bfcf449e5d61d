"""Object-detection label formats in and out: YOLO, COCO JSON and Pascal VOC.

Each format has its module (:mod:`.yolo`, :mod:`.coco`, :mod:`.voc`) with a reader that
returns a :class:`~athanor.data.box_formats._common.BoxSource` (boxes plus where each came
from) and a writer that writes a :class:`~athanor.data.boxes.BoxDataset` into an empty folder.
:func:`detect_format` tells which format a path holds; :func:`read_boxes` reads and checks it;
:func:`write_boxes` writes one.

The formats are small enough to read directly, and doing so lets every error name its file
and line or key path, check limits before parsing, and read image sizes from the headers
within the project's image limits; XML goes through ``defusedxml``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Literal

from athanor.data.box_formats._common import BoxSource, checked
from athanor.data.box_formats.coco import annotation_files, read_coco, write_coco
from athanor.data.box_formats.voc import read_voc, write_voc, xml_files
from athanor.data.box_formats.yolo import looks_like_yolo, read_yolo, write_yolo
from athanor.data.boxes import BoxDataset
from athanor.errors import DataError, UserError

BoxFormat = Literal["yolo", "coco", "voc"]
FORMATS: tuple[str, ...] = ("yolo", "coco", "voc")


def detect_format(path: Path) -> str:
    """Which detection format ``path`` holds: ``coco`` (a JSON file, or a folder with COCO
    annotation files), ``voc`` (``Annotations/*.xml`` or XML files) or ``yolo``.

    Raises:
        DataError: none of them, saying what each looks like.
    """
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_file():
        if path.suffix.lower() == ".json":
            return "coco"
        if path.suffix.lower() in (".yaml", ".yml"):
            return "yolo"
        raise DataError(
            f"{path}: a detection import takes a folder, a COCO .json or a YOLO data.yaml"
        )
    if (path / "Annotations").is_dir():
        return "voc"
    if annotation_files(path):
        return "coco"
    if looks_like_yolo(path):
        return "yolo"
    if xml_files(path):
        return "voc"
    raise DataError(
        f"{path}: cannot tell the detection format; give --format: yolo (images/, labels/ and "
        "data.yaml), coco (an annotations JSON with images, annotations and categories) or voc "
        "(Annotations/*.xml beside JPEGImages/)"
    )


def read_source(path: Path, box_format: str | None = None) -> BoxSource:
    """Read ``path`` in ``box_format`` (default: :func:`detect_format`), unchecked."""
    box_format = box_format or detect_format(path)
    if box_format == "coco":
        return read_coco(path)
    folder = path.parent if path.is_file() else path
    if box_format == "yolo":
        return read_yolo(folder)
    if box_format == "voc":
        return read_voc(folder)
    raise UserError(f"detection format {box_format!r} is unknown; valid: {', '.join(FORMATS)}")


def read_boxes(
    path: Path, box_format: str | None = None, *, skip_bad: bool = False
) -> tuple[BoxDataset, list[dict[str, str]], list[str]]:
    """Read and check a detection dataset: ``(dataset, skipped, notes)``.

    Args:
        path: the dataset's folder (or a COCO JSON file / YOLO data.yaml in it).
        box_format: ``yolo``, ``coco`` or ``voc`` (default: detected).
        skip_bad: leave out bad boxes and images, listing them in ``skipped`` (``item``,
            ``reason``), instead of raising the first.

    Raises:
        DataError: a bad box or file, naming the file and line or key path.
        PayloadTooLarge: a file or image count beyond its limit.
    """
    source = read_source(path, box_format)
    dataset, skipped = checked(source, skip_bad=skip_bad)
    return dataset, skipped, source.notes


def write_boxes(dataset: BoxDataset, box_format: str, out: Path) -> Path:
    """Write ``dataset`` (its images copied) as ``box_format`` into the folder ``out``.

    The files are written into a hidden folder beside ``out`` that is renamed to ``out`` at
    the end: a failed export leaves nothing.

    Raises:
        UserError: an unknown format, or ``out`` exists and is not an empty folder.
    """
    writers = {"yolo": write_yolo, "coco": write_coco, "voc": write_voc}
    if box_format not in writers:
        raise UserError(f"detection format {box_format!r} is unknown; valid: {', '.join(FORMATS)}")
    out = Path(out).expanduser()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"--out {out}: exists and is not an empty folder; name a new folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.parent / f".{out.name}.{uuid.uuid4().hex[:8]}.partial"
    partial.mkdir()
    try:
        writers[box_format](dataset, partial)
        if out.exists():
            out.rmdir()
        os.replace(partial, out)
    finally:
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)
    return out


__all__ = [
    "FORMATS",
    "BoxFormat",
    "BoxSource",
    "detect_format",
    "read_boxes",
    "read_source",
    "write_boxes",
]
