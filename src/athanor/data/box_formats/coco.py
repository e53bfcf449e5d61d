"""COCO JSON: ``images``, ``annotations`` (``bbox`` as pixel ``[x, y, width, height]``) and
``categories`` with ids of the dataset's choosing.

A folder may hold several annotation files (``annotations/instances_train2017.json``, ...):
a file whose name says ``train``, ``val`` or ``test`` gives its images that split. Classes are
the categories in the order of their ids. An annotation's polygon (``segmentation`` as lists
of ``x, y`` numbers) is kept as the box's polygon (the largest one where there are several);
run-length masks and crowd regions (``iscrowd: 1``) are not boxes of single objects and are
left out, with a note.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

from athanor.data.box_formats._common import (
    BoxSource,
    Problem,
    check_file_size,
    check_image_count,
    fit_to_image,
    flat_names,
    header_size,
    inside,
)
from athanor.data.boxes import MAX_BOXES_FILE_BYTES, SPLITS, Box, BoxDataset, BoxedImage
from athanor.errors import DataError

MAX_JSON_BYTES = MAX_BOXES_FILE_BYTES
"""A larger annotation file is refused before it is parsed."""
DECIMALS = 2
"""Decimals of the pixel coordinates written (as COCO's own files have)."""


def annotation_files(path: Path) -> list[Path]:
    """The COCO annotation files of ``path`` (a JSON file, or a folder with JSON files at its
    top or in ``annotations/``)."""
    if path.is_file():
        return [path]
    files = sorted(path.glob("*.json")) + sorted((path / "annotations").glob("*.json"))
    return [file for file in files if file.name != "boxes.json" and _looks_like_coco(file)]


def _looks_like_coco(file: Path) -> bool:
    try:
        with file.open("rb") as handle:
            head = handle.read(1 << 20)
    except OSError:
        return False
    return b'"annotations"' in head or b'"categories"' in head or b'"images"' in head


def read_coco(path: Path) -> BoxSource:
    """Read COCO annotation file(s) and find their images.

    Args:
        path: an annotation JSON file (its folder is the dataset's), or a folder of them.

    Raises:
        DataError: no annotation file, malformed JSON or structure (naming the file and key),
            categories that differ between files.
        PayloadTooLarge: a file beyond :data:`MAX_JSON_BYTES`, or too many images.
    """
    root = path.parent if path.is_file() else path
    files = annotation_files(path)
    if not files:
        raise DataError(
            f"{path}: no COCO annotation file (a JSON with images, annotations and categories) "
            "at its top or in annotations/"
        )
    classes: list[str] | None = None
    category_source = ""
    images: list[BoxedImage] = []
    source = BoxSource(BoxDataset((), (), root=root), format="coco")
    seen: set[str] = set()
    crowd = rle = several = 0
    for file in files:
        name = file.relative_to(root).as_posix()
        payload = _load_json(file, name)
        categories = _categories(payload, name)
        names = [category_name for _, category_name in sorted(categories.values())]
        if classes is None:
            classes, category_source = names, name
        elif names != classes:
            raise DataError(
                f"{name}: categories differ from those of {category_source}; the annotation "
                "files of one dataset share their categories"
            )
        split = _split_of(file)
        entries = _list(payload, "images", name)
        check_image_count(len(images) + len(entries), name)
        by_id: dict[Any, int] = {}
        dropped: set[Any] = set()  # images left out: their annotations go with them
        bases = _image_bases(root, file, split)
        for i, entry in enumerate(entries):
            where = f"{name}: images[{i}]"
            if not isinstance(entry, dict) or "id" not in entry or "file_name" not in entry:
                raise DataError(f"{where}: needs 'id' and 'file_name'")
            file_name = entry["file_name"]
            if not isinstance(file_name, str):
                raise DataError(f"{where}.file_name: must be a path")
            where = f"{where} (id {entry['id']})"
            image_path = _find_image(bases, file_name, where)
            dropped.add(entry["id"])
            if image_path is None:
                source.problems.append(
                    Problem(where, f"{file_name!r} is not found beside {name}", image=file_name)
                )
                continue
            relative = image_path.relative_to(root).as_posix()
            if relative in seen:
                continue
            seen.add(relative)
            size = header_size(image_path, relative)
            if isinstance(size, Problem):
                source.problems.append(size)
                continue
            declared = (entry.get("width"), entry.get("height"))
            if declared != (None, None) and declared != size:
                source.problems.append(
                    Problem(
                        where,
                        f"width x height {declared[0]}x{declared[1]} but {relative} is "
                        f"{size[0]}x{size[1]}",
                        image=relative,
                    )
                )
                continue
            dropped.discard(entry["id"])
            by_id[entry["id"]] = len(images)
            images.append(BoxedImage(relative, size[0], size[1], (), split))
        boxes: dict[int, list[tuple[Box, str]]] = {}
        index_of = {cid: index for index, cid in enumerate(sorted(categories))}
        for i, annotation in enumerate(_list(payload, "annotations", name)):
            where = f"{name}: annotations[{i}]"
            if not isinstance(annotation, dict):
                raise DataError(f"{where}: must be an object")
            if "id" in annotation:
                where = f"{where} (id {annotation['id']})"
            image_id = annotation.get("image_id")
            if image_id not in by_id:
                if image_id not in dropped:
                    source.problems.append(
                        Problem(where, f"image_id {image_id!r} is not in images")
                    )
                continue
            if annotation.get("iscrowd"):
                crowd += 1
                continue
            category = annotation.get("category_id")
            if category not in index_of:
                known = sorted(index_of)
                source.problems.append(
                    Problem(
                        where,
                        f"category_id {category!r} is unknown; {category_source} has "
                        f"{len(known)} categories (ids {_id_range(known)})",
                    )
                )
                continue
            bbox = annotation.get("bbox")
            if not isinstance(bbox, list) or len(bbox) != 4 or not all(_is_number(v) for v in bbox):
                source.problems.append(
                    Problem(where, "bbox must be 4 numbers [x, y, width, height]")
                )
                continue
            x, y, w, h = (float(v) for v in bbox)
            polygon, count = _polygon(annotation.get("segmentation"))
            rle += count < 0
            several += count > 1
            image = images[by_id[image_id]]
            box = Box(x, y, x + w, y + h, index_of[category], polygon=polygon)
            boxes.setdefault(by_id[image_id], []).append(
                (fit_to_image(box, image.width, image.height), where)
            )
        for index, found in boxes.items():
            image = images[index]
            images[index] = BoxedImage(
                image.file, image.width, image.height, tuple(b for b, _ in found), image.split
            )
            for box_index, (_, where) in enumerate(found):
                source.locations[(index, box_index)] = where
    if crowd:
        source.notes.append(f"{crowd} crowd region(s) (iscrowd: 1) left out")
    if rle:
        source.notes.append(f"{rle} run-length mask(s) not kept (their boxes are)")
    if several:
        source.notes.append(f"{several} annotation(s) of several polygons: the largest kept")
    source.dataset = BoxDataset(tuple(classes or ()), tuple(images), root=root)
    return source


def _load_json(file: Path, name: str) -> dict[str, Any]:
    check_file_size(file, name, MAX_JSON_BYTES)
    try:
        payload = json.loads(file.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise DataError(f"{name}: not UTF-8 text (byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise DataError(
            f"{name} line {error.lineno}, column {error.colno}: not valid JSON ({error.msg})"
        ) from None
    if not isinstance(payload, dict):
        raise DataError(f"{name}: must be an object with images, annotations and categories")
    return payload


def _list(payload: dict[str, Any], key: str, name: str) -> list[Any]:
    value = payload.get(key)
    if not isinstance(value, list):
        raise DataError(f"{name}: '{key}' must be a list")
    return value


def _categories(payload: dict[str, Any], name: str) -> dict[Any, tuple[Any, str]]:
    found: dict[Any, tuple[Any, str]] = {}
    for i, category in enumerate(_list(payload, "categories", name)):
        where = f"{name}: categories[{i}]"
        if not isinstance(category, dict):
            raise DataError(f"{where}: must be an object with 'id' and 'name'")
        cid, cname = category.get("id"), category.get("name")
        if not isinstance(cid, int) or isinstance(cid, bool):
            raise DataError(f"{where}.id: must be a whole number")
        if not isinstance(cname, str) or not cname:
            raise DataError(f"{where}.name: must be a non-empty name")
        if cid in found:
            raise DataError(f"{where}.id: {cid} is used by two categories")
        found[cid] = (cid, cname)
    if not found:
        raise DataError(f"{name}: 'categories' is empty; it names the classes")
    names = [n for _, n in found.values()]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise DataError(f"{name}: categories: names appear twice: {', '.join(twice[:5])}")
    return found


def _id_range(ids: list[int]) -> str:
    if ids == list(range(ids[0], ids[0] + len(ids))):
        return f"{ids[0]}..{ids[-1]}"
    if len(ids) <= 10:
        return ", ".join(str(i) for i in ids)
    return f"between {ids[0]} and {ids[-1]}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _polygon(segmentation: Any) -> tuple[tuple[tuple[float, float], ...] | None, int]:
    """The polygon kept and how many there were (-1: a run-length mask)."""
    if isinstance(segmentation, dict):
        return None, -1
    if not isinstance(segmentation, list) or not segmentation:
        return None, 0
    polygons = [
        tuple((float(p[i]), float(p[i + 1])) for i in range(0, len(p) - 1, 2))
        for p in segmentation
        if isinstance(p, list) and len(p) >= 6 and all(_is_number(v) for v in p)
    ]
    if not polygons:
        return None, 0
    return max(polygons, key=_area), len(polygons)


def _area(points: tuple[tuple[float, float], ...]) -> float:
    following = points[1:] + points[:1]
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, following, strict=True)))


def _split_of(file: Path) -> str | None:
    stem = file.stem.lower()
    for split in SPLITS:
        if split in stem:
            return split
    return None


def _image_bases(root: Path, file: Path, split: str | None) -> list[Path]:
    stem = file.stem.removeprefix("instances_")
    bases = [file.parent, file.parent / "images", file.parent.parent, root, root / "images"]
    bases += [root / stem, root / "images" / stem]
    if split:
        bases += [root / split, root / "images" / split]
    unique: list[Path] = []
    for base in bases:
        if base.is_relative_to(root) and base not in unique:
            unique.append(base)
    return unique


def _find_image(bases: list[Path], file_name: str, where: str) -> Path | None:
    for base in bases:
        candidate = inside(base, file_name, f"{where}.file_name")
        if candidate.is_file():
            return candidate
    return None


def write_coco(dataset: BoxDataset, out: Path) -> None:
    """Write ``dataset`` as COCO into the empty folder ``out``: ``images/`` and
    ``annotations/instances_<split>.json`` (``instances_default.json`` for unsplit images);
    category ids are 1, 2, ... in the order of the classes."""
    names = flat_names(dataset)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "annotations").mkdir(parents=True, exist_ok=True)
    categories = [
        {"id": index + 1, "name": name, "supercategory": ""}
        for index, name in enumerate(dataset.classes)
    ]
    by_split: dict[str, list[BoxedImage]] = {}
    for image in dataset.images:
        by_split.setdefault(image.split or "default", []).append(image)
        shutil.copyfile(dataset.path_of(image), out / "images" / names[image.file])
    annotation_id = 0
    for split, images in by_split.items():
        image_entries, annotations = [], []
        for image_id, image in enumerate(images, start=1):
            image_entries.append(
                {
                    "id": image_id,
                    "file_name": names[image.file],
                    "width": image.width,
                    "height": image.height,
                }
            )
            for box in image.boxes:
                annotation_id += 1
                # Corners rounded, then the size between them: x + w gives x1 back within
                # half a unit of the last decimal.
                x, y = round(box.x0, DECIMALS), round(box.y0, DECIMALS)
                w = round(round(box.x1, DECIMALS) - x, DECIMALS)
                h = round(round(box.y1, DECIMALS) - y, DECIMALS)
                segmentation = (
                    [[round(v, DECIMALS) for point in box.polygon for v in point]]
                    if box.polygon
                    else []
                )
                annotations.append(
                    {
                        "id": annotation_id,
                        "image_id": image_id,
                        "category_id": box.label + 1,
                        "bbox": [x, y, w, h],
                        "area": round(w * h, DECIMALS),
                        "iscrowd": 0,
                        "segmentation": segmentation,
                    }
                )
        payload = {"images": image_entries, "annotations": annotations, "categories": categories}
        target = out / "annotations" / f"instances_{split}.json"
        target.write_text(json.dumps(payload, separators=(",", ":")), encoding="utf-8")
