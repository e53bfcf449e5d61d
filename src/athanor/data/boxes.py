"""Object-detection datasets in memory and in Athanor's own file, ``boxes.json``.

Every detection format (YOLO, COCO JSON, Pascal VOC, the labeling pages, the built-in
``digits-detection``) is read into a :class:`BoxDataset` and written from one, so importers,
exporters, training and evaluation agree on one shape: pixel ``xyxy`` boxes on images whose
size is known, class indices into ``classes``.

An imported detection version is a folder with the image files and ``boxes.json``
(:func:`save_boxes` / :func:`load_boxes`); its paths are relative to that folder.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from athanor.errors import DataError, PayloadTooLarge

BOXES_FILE = "boxes.json"
BOXES_FORMAT = "athanor-boxes/1"
MAX_BOXES_FILE_BYTES = 256 * 1024 * 1024
"""A larger ``boxes.json`` is refused before it is parsed."""
MAX_BOXES_PER_IMAGE = 10_000
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Box:
    """One object: a pixel box ``x0 <= x1``, ``y0 <= y1`` and a class index.

    ``polygon`` keeps an outline drawn on the labeling pages (pixel ``(x, y)`` points); the
    box is then its bounding box. ``score`` is set on predictions, not on labels.
    """

    x0: float
    y0: float
    x1: float
    y1: float
    label: int
    polygon: tuple[tuple[float, float], ...] | None = None
    score: float | None = None

    @property
    def xyxy(self) -> tuple[float, float, float, float]:
        return (self.x0, self.y0, self.x1, self.y1)

    @property
    def area(self) -> float:
        return max(0.0, self.x1 - self.x0) * max(0.0, self.y1 - self.y0)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"xyxy": [self.x0, self.y0, self.x1, self.y1], "label": self.label}
        if self.polygon is not None:
            out["polygon"] = [list(point) for point in self.polygon]
        if self.score is not None:
            out["score"] = self.score
        return out


@dataclass(frozen=True)
class BoxedImage:
    """An image file (relative to the dataset's root), its size in pixels and its boxes."""

    file: str
    width: int
    height: int
    boxes: tuple[Box, ...] = ()
    split: str | None = None
    """``train``, ``val`` or ``test`` when the source says; ``None`` lets the spec split."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "file": self.file,
            "width": self.width,
            "height": self.height,
            "boxes": [box.to_json() for box in self.boxes],
        }
        if self.split is not None:
            out["split"] = self.split
        return out


@dataclass(frozen=True)
class BoxDataset:
    """Images with boxes, the class names the boxes' labels index, and where the files are."""

    classes: tuple[str, ...]
    images: tuple[BoxedImage, ...]
    root: Path = field(default=Path("."))

    def path_of(self, image: BoxedImage) -> Path:
        return self.root / image.file

    def box_count(self) -> int:
        return sum(len(image.boxes) for image in self.images)


@dataclass(frozen=True)
class BadBox:
    """A box (or image) that cannot be used, where it is and why."""

    file: str
    box: int | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "box": self.box, "reason": self.reason}

    def __str__(self) -> str:
        where = self.file if self.box is None else f"{self.file}, box {self.box}"
        return f"{where}: {self.reason}"


def box_problems(image: BoxedImage, class_count: int) -> list[BadBox]:
    """What is wrong with an image's boxes: out of the image, unknown class, zero area."""
    problems = []
    if image.width <= 0 or image.height <= 0:
        return [
            BadBox(image.file, None, f"image size {image.width}x{image.height} is not positive")
        ]
    if len(image.boxes) > MAX_BOXES_PER_IMAGE:
        return [
            BadBox(image.file, None, f"{len(image.boxes)} boxes; at most {MAX_BOXES_PER_IMAGE}")
        ]
    for index, box in enumerate(image.boxes):
        coordinates = box.xyxy
        # Shown to 3 decimals: a normalized source's float noise (110.00000000000001) is not news.
        shown = [round(value, 3) for value in coordinates]
        if not all(math.isfinite(value) for value in coordinates):
            reason = f"coordinates {shown} are not all finite numbers"
        elif not 0 <= box.label < class_count:
            reason = f"class {box.label} is unknown; valid classes are 0..{class_count - 1}"
        elif box.x1 <= box.x0 or box.y1 <= box.y0:
            reason = f"zero area: xyxy {shown} needs x0 < x1 and y0 < y1"
        elif box.x0 < 0 or box.y0 < 0 or box.x1 > image.width or box.y1 > image.height:
            reason = (
                f"out of the image: xyxy {shown} is not within 0..{image.width} x 0..{image.height}"
            )
        else:
            continue
        problems.append(BadBox(image.file, index, reason))
    return problems


def check_boxes(dataset: BoxDataset, *, skip_bad: bool) -> tuple[BoxDataset, list[BadBox]]:
    """The dataset without bad boxes and the list of what was left out.

    Raises:
        DataError: a bad box when ``skip_bad`` is false (the message names the file and box and
            suggests ``--skip-bad``).
    """
    kept_images = []
    skipped: list[BadBox] = []
    for image in dataset.images:
        problems = box_problems(image, len(dataset.classes))
        if problems and not skip_bad:
            raise DataError(
                f"{problems[0]}. Fix the label, or import with --skip-bad to leave such boxes "
                "out and list them."
            )
        skipped.extend(problems)
        if any(problem.box is None for problem in problems):
            continue
        bad = {problem.box for problem in problems}
        boxes = tuple(box for index, box in enumerate(image.boxes) if index not in bad)
        kept_images.append(replace(image, boxes=boxes))
    return replace(dataset, images=tuple(kept_images)), skipped


def save_boxes(dataset: BoxDataset, folder: Path) -> Path:
    """Write ``boxes.json`` into ``folder`` (next to the images), atomically."""
    payload = {
        "format": BOXES_FORMAT,
        "classes": list(dataset.classes),
        "images": [image.to_json() for image in dataset.images],
    }
    target = folder / BOXES_FILE
    partial = target.with_suffix(".json.partial")
    partial.write_text(json.dumps(payload, separators=(",", ":")), encoding="utf-8")
    partial.replace(target)
    return target


def load_boxes(folder: Path) -> BoxDataset:
    """Read ``folder/boxes.json`` (limits checked before parsing).

    Raises:
        DataError: a missing or malformed file; the message names the file and the key path.
        PayloadTooLarge: the file is larger than :data:`MAX_BOXES_FILE_BYTES`.
    """
    path = folder / BOXES_FILE
    if not path.is_file():
        raise DataError(f"{path}: not found; a detection dataset folder holds {BOXES_FILE}")
    size = path.stat().st_size
    if size > MAX_BOXES_FILE_BYTES:
        raise PayloadTooLarge(f"{path}: {size} bytes; at most {MAX_BOXES_FILE_BYTES}")
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(f"{path}: not valid JSON ({error})") from None
    return boxes_from_json(payload, source=str(path), root=folder)


def boxes_from_json(payload: Any, *, source: str, root: Path) -> BoxDataset:
    """A :class:`BoxDataset` from the ``boxes.json`` structure; errors name the key path."""
    if not isinstance(payload, dict) or payload.get("format") != BOXES_FORMAT:
        raise DataError(f"{source}: 'format' must be {BOXES_FORMAT!r}")
    classes = payload.get("classes")
    if not isinstance(classes, list) or not all(isinstance(c, str) and c for c in classes):
        raise DataError(f"{source}: 'classes' must be a list of non-empty names")
    images_json = payload.get("images")
    if not isinstance(images_json, list):
        raise DataError(f"{source}: 'images' must be a list")
    images = []
    for i, item in enumerate(images_json):
        where = f"{source}: images[{i}]"
        try:
            boxes = tuple(
                Box(
                    *(float(v) for v in _four(box["xyxy"], f"{where}.boxes[{j}].xyxy")),
                    label=int(box["label"]),
                    polygon=(
                        tuple((float(x), float(y)) for x, y in box["polygon"])
                        if box.get("polygon") is not None
                        else None
                    ),
                    score=float(box["score"]) if box.get("score") is not None else None,
                )
                for j, box in enumerate(item.get("boxes", []))
            )
            split = item.get("split")
            if split is not None and split not in SPLITS:
                raise DataError(f"{where}.split: {split!r}; valid: {', '.join(SPLITS)} or absent")
            images.append(
                BoxedImage(
                    file=str(item["file"]),
                    width=int(item["width"]),
                    height=int(item["height"]),
                    boxes=boxes,
                    split=split,
                )
            )
        except (KeyError, TypeError, ValueError) as error:
            raise DataError(
                f"{where}: needs 'file', 'width', 'height' and boxes with 'xyxy' (4 numbers) "
                f"and 'label' ({type(error).__name__}: {error})"
            ) from None
    return BoxDataset(classes=tuple(classes), images=tuple(images), root=root)


def _four(values: Any, where: str) -> list[Any]:
    if not isinstance(values, list) or len(values) != 4:
        raise DataError(f"{where}: must be 4 numbers [x0, y0, x1, y1]")
    return values
