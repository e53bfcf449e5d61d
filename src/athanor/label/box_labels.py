"""Box labels: an item's boxes checked against its image and the label set, and set.

A box as the API, the CLI and the store see it::

    {"class": "cat", "xyxy": [x1, y1, x2, y2], "polygon": [[x, y], ...], "score": 0.9}

in the pixels of the item's own image (``x1 < x2``, ``y1 < y2``, within the image).
``polygon`` (3 points or more) is optional; when given, the box is its bounding box, which
is what training uses. ``score`` belongs to a model's boxes: a person's boxes have none.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from athanor.data.boxes import MAX_BOXES_PER_IMAGE, Box, BoxDataset, BoxedImage, box_problems
from athanor.errors import UserError
from athanor.label import sources
from athanor.label.projects import existing_items
from athanor.store import Store
from athanor.store.labeling import BOXES_LABEL, LabelItemRecord, LabelProjectRecord

MAX_POLYGON_POINTS = 1000
DECIMALS = 2
"""Pixel coordinates are kept to this many decimals (a hundredth of a pixel)."""


class BadBoxError(UserError):
    """A box that cannot be an item's label; the message names the item, the box and why."""


def require_boxes(project: LabelProjectRecord) -> None:
    """Raises UserError unless ``project`` labels boxes."""
    if project.kind != "detection":
        raise UserError(
            f"project {project.name} labels {project.kind} items by class, not boxes; set "
            "their labels instead"
        )


def checked_boxes(
    project: LabelProjectRecord,
    record: LabelItemRecord,
    boxes: Any,
    *,
    keep_scores: bool = False,
) -> list[dict[str, Any]]:
    """``boxes`` (a list of box objects) checked and tidied for item ``record``.

    Raises:
        BadBoxError: not a list of boxes, an unknown class, a box out of the image, of zero
            area or with a malformed polygon; the message names the item and the box index
            and what would be valid.
    """
    where = f"item {record.item} ({record.name})"
    if not isinstance(boxes, list):
        raise BadBoxError(f"{where}: boxes must be a list of {{class, xyxy}} objects")
    if len(boxes) > MAX_BOXES_PER_IMAGE:
        raise BadBoxError(f"{where}: {len(boxes)} boxes; at most {MAX_BOXES_PER_IMAGE}")
    width, height = record.width or 0, record.height or 0
    names = project.label_names
    tidy: list[dict[str, Any]] = []
    for index, box in enumerate(boxes):
        at = f"{where}, box {index}"
        if not isinstance(box, dict):
            raise BadBoxError(f"{at}: must be an object with 'class' and 'xyxy' (or 'polygon')")
        name = box.get("class")
        if name not in names:
            raise BadBoxError(
                f"{at}: class {name!r} is not in project {project.name}'s label set "
                f"({', '.join(names)})"
            )
        polygon = _polygon(box.get("polygon"), at)
        if polygon is not None:
            xs, ys = [x for x, _ in polygon], [y for _, y in polygon]
            xyxy = [min(xs), min(ys), max(xs), max(ys)]
        else:
            xyxy = _numbers(box.get("xyxy"), 4, f"{at}.xyxy", "[x1, y1, x2, y2]")
        xyxy = [round(v, DECIMALS) for v in xyxy]
        geometry = Box(*xyxy, label=0)
        image = BoxedImage(record.name, width, height, (geometry,))
        problems = box_problems(image, 1)
        if problems:
            raise BadBoxError(f"{at}: {problems[0].reason} (pixels of its {width}x{height} image)")
        if polygon is not None and not all(
            0 <= x <= width and 0 <= y <= height for x, y in polygon
        ):
            raise BadBoxError(f"{at}: polygon points must lie within 0..{width} x 0..{height}")
        out: dict[str, Any] = {"class": name, "xyxy": xyxy}
        if polygon is not None:
            out["polygon"] = [[round(x, DECIMALS), round(y, DECIMALS)] for x, y in polygon]
        score = box.get("score")
        if keep_scores and score is not None:
            if not isinstance(score, int | float) or not 0.0 <= float(score) <= 1.0:
                raise BadBoxError(f"{at}.score: {score!r} is not a number within 0..1")
            out["score"] = float(score)
        tidy.append(out)
    return tidy


def _numbers(values: Any, count: int, where: str, shape: str) -> list[float]:
    if (
        not isinstance(values, list)
        or len(values) != count
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        or not all(math.isfinite(v) for v in values)
    ):
        raise BadBoxError(f"{where}: must be {count} finite numbers {shape} in image pixels")
    return [float(v) for v in values]


def _polygon(points: Any, where: str) -> list[tuple[float, float]] | None:
    if points is None:
        return None
    if not isinstance(points, list) or not 3 <= len(points) <= MAX_POLYGON_POINTS:
        raise BadBoxError(
            f"{where}.polygon: must be a list of 3..{MAX_POLYGON_POINTS} [x, y] points"
        )
    out = []
    for number, point in enumerate(points):
        x, y = _numbers(point, 2, f"{where}.polygon[{number}]", "[x, y]")
        out.append((x, y))
    return out


def set_boxes(
    store: Store,
    name: str,
    changes: Sequence[tuple[int, list[dict[str, Any]] | None]],
    *,
    by: str,
) -> dict[str, Any]:
    """A person sets items' boxes (``None`` clears the label; ``[]`` says "no object"):
    ``{updated, counts}``.

    An item whose earlier boxes (its label, or else the model's) differ is marked ``fixed``.

    Raises:
        UserError: not a box project, or an unknown item.
        BadBoxError: a bad box, naming the item and the box.
    """
    project = store.labeling.get_project(name)
    require_boxes(project)
    current = existing_items(store, project, [item for item, _ in changes])
    rows = []
    for item, boxes in changes:
        before = current[item]
        tidy = checked_boxes(project, before, boxes) if boxes is not None else None
        earlier = before.boxes if before.label is not None else before.predicted_boxes
        review = None
        if tidy is not None and earlier is not None and _shapes(earlier) != _shapes(tidy):
            review = "fixed"
        elif tidy is not None and before.label is not None:
            review = before.review if before.review != "rejected" else None
        rows.append(
            {
                "item": item,
                "label": BOXES_LABEL if tidy is not None else None,
                "boxes": tidy,
                "review": review,
            }
        )
    updated = store.labeling.set_labels(project.id, rows, by=by)
    return {"updated": updated, "counts": store.labeling.counts(project.id)}


def _shapes(boxes: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Boxes without their scores, in a fixed order, to compare two labels."""
    return sorted(
        (box["class"], *(round(float(v), DECIMALS) for v in box["xyxy"])) for box in boxes
    )


def project_box_dataset(
    store: Store, project: LabelProjectRecord, scratch: Path
) -> tuple[BoxDataset, list[LabelItemRecord]]:
    """The labeled (and not rejected) items of a box project as a :class:`BoxDataset`, and
    those items in its order.

    Images of a detection version keep their files (the dataset's root is the version's
    folder); images of an images version are written as PNG files into ``scratch``.
    A detection version's splits are kept; an images version's official test images are the
    ``test`` split.
    """
    require_boxes(project)
    source = sources.source_version(store, project.dataset)
    classes = project.label_names
    records = [
        r
        for r in store.labeling.get_items(project.id)
        if r.label is not None and r.boxes is not None and r.review != "rejected"
    ]
    images = []
    if source.info["kind"] == "detection":
        root = source.folder
        originals = sources.boxed_images(source.folder).images
        splits = [originals[r.item].split for r in records]
        files = [originals[r.item].file for r in records]
    else:
        root = scratch
        is_test = np.load(source.folder / "is_test.npy", allow_pickle=False)
        splits = ["test" if is_test[r.item] else None for r in records]
        files = []
        for r in records:
            file = f"{r.item:06d}-{PurePosixPath(r.name).stem or 'image'}.png"
            sources.item_picture(source, r.item).save(scratch / file, format="PNG")
            files.append(file)
    for record, file, split in zip(records, files, splits, strict=True):
        boxes = tuple(
            Box(
                *(float(v) for v in box["xyxy"]),
                label=classes.index(box["class"]),
                polygon=tuple((float(x), float(y)) for x, y in box["polygon"])
                if box.get("polygon")
                else None,
            )
            for box in record.boxes or []
        )
        images.append(BoxedImage(file, record.width or 0, record.height or 0, boxes, split))
    return BoxDataset(tuple(classes), tuple(images), root=root), records
