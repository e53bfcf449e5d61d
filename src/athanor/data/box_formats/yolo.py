"""YOLO: ``images/`` and ``labels/`` folders, one ``class cx cy w h`` line per box.

Coordinates are normalized to the image (0..1), so each image's size is read from its header.
The classes come from a ``data.yaml`` (any ``*.yaml`` at the top with ``names``, a list or an
``index: name`` mapping; read with the limited YAML loader) or a ``classes.txt`` / ``*.names``
list, one name a line. The YAML's ``train``, ``val`` and ``test`` folders become the splits;
without them every image below the folder is read, unsplit. An image's labels are
``labels/...`` where its path has ``images/...`` (or a ``.txt`` beside it); an image without
labels has no boxes. Lines of more than 5 values are polygons (``class x1 y1 x2 y2 ...``, the
segmentation layout), kept as the box's polygon.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from athanor.data.box_formats._common import (
    MAX_CLASSES,
    BoxSource,
    Problem,
    check_image_count,
    fit_to_image,
    header_size,
    image_files,
    inside,
    number_text,
    read_small_text,
    relative_name,
)
from athanor.data.boxes import MAX_BOXES_PER_IMAGE, SPLITS, Box, BoxDataset, BoxedImage
from athanor.errors import DataError, SpecError
from athanor.spec.loading import load_yaml_text

CLASS_LISTS = ("classes.txt", "obj.names", "classes.names")
DECIMALS = 6
"""Decimals of the normalized coordinates written (a millionth of the image's size)."""


def looks_like_yolo(folder: Path) -> bool:
    """A folder with a ``labels`` folder, or a YAML with ``names``, or a classes list."""
    return (
        (folder / "labels").is_dir()
        or _config_file(folder) is not None
        or any((folder / name).is_file() for name in CLASS_LISTS)
    )


def read_yolo(folder: Path) -> BoxSource:
    """Read a YOLO dataset folder.

    Raises:
        DataError: no class names, a split folder that is missing or outside the folder, or a
            malformed config; problems with single labels are returned, not raised.
        PayloadTooLarge: a label file or the config beyond its limit, or too many images.
    """
    classes, config_name, splits = _classes_and_splits(folder)
    listed: list[tuple[Path, str | None]] = []
    if splits:
        for split, folders in splits.items():
            for split_folder in folders:
                listed.extend((path, split) for path in image_files(split_folder))
    else:
        listed = [(path, None) for path in image_files(folder)]
    check_image_count(len(listed), str(folder))
    source = BoxSource(BoxDataset(tuple(classes), (), root=folder), format="yolo")
    images: list[BoxedImage] = []
    seen: set[str] = set()
    used_labels: set[Path] = set()
    for path, split in listed:
        name = relative_name(path, folder)
        if name in seen:
            continue  # a folder named by two splits
        seen.add(name)
        size = header_size(path, name)
        if isinstance(size, Problem):
            source.problems.append(size)
            continue
        width, height = size
        label_path = _label_path(path, folder)
        if label_path is not None:
            used_labels.add(label_path)
        boxes: list[Box] = []
        if label_path is not None:
            label_name = relative_name(label_path, folder)
            text = read_small_text(label_path, label_name)
            boxes = _parse_labels(
                text, label_name, name, (width, height), len(images), classes, config_name, source
            )
        images.append(BoxedImage(name, width, height, tuple(boxes), split))
    labels_folder = folder / "labels"
    if labels_folder.is_dir():
        orphans = [p for p in labels_folder.rglob("*.txt") if p not in used_labels]
        if orphans:
            example = relative_name(orphans[0], folder)
            source.notes.append(
                f"{len(orphans)} label file(s) without an image read, e.g. {example}"
            )
    source.dataset = BoxDataset(tuple(classes), tuple(images), root=folder)
    return source


def _parse_labels(
    text: str,
    label_name: str,
    image_name: str,
    size: tuple[int, int],
    image_index: int,
    classes: list[str],
    config_name: str,
    source: BoxSource,
) -> list[Box]:
    lines = text.splitlines()
    if len(lines) > MAX_BOXES_PER_IMAGE:
        source.problems.append(
            Problem(
                label_name,
                f"{len(lines):,} lines; an image may have {MAX_BOXES_PER_IMAGE:,} boxes",
                image=image_name,
            )
        )
        return []
    width, height = size
    boxes: list[Box] = []
    for number, line in enumerate(lines, start=1):
        parts = line.split()
        if not parts:
            continue
        where = f"{label_name} line {number}"
        box = _parse_line(parts, where, width, height, classes, config_name, source)
        if box is not None:
            source.locations[(image_index, len(boxes))] = where
            boxes.append(box)
    return boxes


def _parse_line(
    parts: list[str],
    where: str,
    width: int,
    height: int,
    classes: list[str],
    config_name: str,
    source: BoxSource,
) -> Box | None:
    count = len(parts)
    if count != 5 and (count < 7 or count % 2 == 0):
        source.problems.append(
            Problem(
                where,
                f"{count} value(s); a YOLO label line is 'class cx cy w h' (5 values, "
                "normalized 0..1) or 'class x1 y1 x2 y2 x3 y3 ...' (a polygon)",
            )
        )
        return None
    try:
        label = int(parts[0])
    except ValueError:
        source.problems.append(Problem(where, f"class {parts[0]!r} is not a whole number"))
        return None
    values: list[float] = []
    for part in parts[1:]:
        try:
            value = float(part)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            source.problems.append(Problem(where, f"{part!r} is not a finite number"))
            return None
        values.append(value)
    if not 0 <= label < len(classes):
        source.problems.append(
            Problem(
                where,
                f"class {label} is unknown; {config_name} lists {len(classes)} classes "
                f"(0..{len(classes) - 1})",
            )
        )
        return None
    if count == 5:
        cx, cy, w, h = values
        box = Box(
            (cx - w / 2) * width,
            (cy - h / 2) * height,
            (cx + w / 2) * width,
            (cy + h / 2) * height,
            label,
        )
    else:
        points = tuple(
            (values[i] * width, values[i + 1] * height) for i in range(0, len(values), 2)
        )
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        box = Box(min(xs), min(ys), max(xs), max(ys), label, polygon=points)
    return fit_to_image(box, width, height)


def _label_path(image: Path, root: Path) -> Path | None:
    parts = list(image.relative_to(root).parts)
    if "images" in parts:
        at = len(parts) - 1 - parts[::-1].index("images")
        parts[at] = "labels"
        candidate = (root / Path(*parts)).with_suffix(".txt")
        if candidate.is_file():
            return candidate
    beside = image.with_suffix(".txt")
    return beside if beside.is_file() else None


def _config_file(folder: Path) -> Path | None:
    candidates = [folder / "data.yaml", folder / "data.yml"]
    candidates += sorted(p for p in folder.glob("*.y*ml") if p not in candidates)
    for path in candidates:
        if path.is_file() and path.suffix in (".yaml", ".yml"):
            with path.open("rb") as handle:
                head = handle.read(65536).decode("utf-8", errors="replace")
            if "names" in head:
                return path
    return None


def _classes_and_splits(folder: Path) -> tuple[list[str], str, dict[str, list[Path]]]:
    config = _config_file(folder)
    if config is None:
        for name in CLASS_LISTS:
            path = folder / name
            if path.is_file():
                names = [line.strip() for line in read_small_text(path, name).splitlines()]
                names = [n for n in names if n]
                _check_classes(names, name)
                return names, name, {}
        raise DataError(
            f"{folder}: no class names: a YOLO dataset has a data.yaml with 'names' "
            f"(a list, or index: name) or a {' / '.join(CLASS_LISTS)} file, one name a line"
        )
    name = config.name
    try:
        data = load_yaml_text(read_small_text(config, name), name)
    except SpecError as error:
        raise DataError(str(error)) from None
    if not isinstance(data, dict):
        raise DataError(f"{name}: must be a mapping with 'names' (and train/val/test folders)")
    classes = _names(data.get("names"), name)
    base = folder
    path_value = data.get("path")
    if isinstance(path_value, str) and path_value not in ("", "."):
        relative = Path(path_value)
        if not relative.is_absolute() and ".." not in relative.parts:
            base = folder / relative
        # An absolute path or '..' names where the dataset was on another machine: the
        # folders are read relative to this one.
    splits: dict[str, list[Path]] = {}
    for split in SPLITS:
        value = data.get(split)
        if value is None:
            continue
        entries = value if isinstance(value, list) else [value]
        folders = []
        for i, entry in enumerate(entries):
            key = f"{name}: {split}" + (f"[{i}]" if isinstance(value, list) else "")
            if not isinstance(entry, str):
                raise DataError(f"{key}: must be a folder of images relative to the dataset")
            split_folder = inside(base, entry, key)
            if not split_folder.is_dir():
                if split_folder.suffix == ".txt" and split_folder.is_file():
                    raise DataError(
                        f"{key}: {entry!r} is a list of image files; give the folder of the "
                        "images instead"
                    )
                raise DataError(f"{key}: {entry!r} is not a folder of {folder}")
            folders.append(split_folder)
        splits[split] = folders
    return classes, name, splits


def _names(value: Any, name: str) -> list[str]:
    if isinstance(value, list):
        names = [str(n) for n in value]
    elif isinstance(value, dict):
        try:
            indices = sorted(int(k) for k in value)
        except (TypeError, ValueError):
            raise DataError(f"{name}: names: keys must be class indices 0, 1, ...") from None
        if indices != list(range(len(indices))):
            raise DataError(f"{name}: names: indices must be 0..{len(indices) - 1} without gaps")
        names = [str(value.get(i, value.get(str(i)))) for i in indices]
    else:
        raise DataError(f"{name}: names: a list of class names, or index: name, is needed")
    _check_classes(names, f"{name}: names")
    return names


def _check_classes(names: list[str], where: str) -> None:
    if not names:
        raise DataError(f"{where}: no class names")
    if len(names) > MAX_CLASSES:
        raise DataError(f"{where}: {len(names):,} classes; at most {MAX_CLASSES:,}")
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise DataError(f"{where}: class names appear twice: {', '.join(twice[:5])}")


def write_yolo(dataset: BoxDataset, out: Path) -> None:
    """Write ``dataset`` as YOLO into the empty folder ``out``: ``images/<split>/``,
    ``labels/<split>/`` (unsplit images straight in ``images/``) and ``data.yaml``."""
    import shutil

    import yaml

    splits_present: list[str] = []
    for image in dataset.images:
        sub = Path(image.split) if image.split else Path()
        name = Path(image.file).name
        image_target = out / "images" / sub / name
        label_target = out / "labels" / sub / Path(name).with_suffix(".txt")
        if image_target.exists():
            # Two images of one split share a name: keep their folders apart.
            image_target = out / "images" / sub / image.file
            label_target = (out / "labels" / sub / image.file).with_suffix(".txt")
        image_target.parent.mkdir(parents=True, exist_ok=True)
        label_target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(dataset.path_of(image), image_target)
        lines = []
        for box in image.boxes:
            values = (
                (box.x0 + box.x1) / 2 / image.width,
                (box.y0 + box.y1) / 2 / image.height,
                (box.x1 - box.x0) / image.width,
                (box.y1 - box.y0) / image.height,
            )
            lines.append(" ".join([str(box.label), *(number_text(v, DECIMALS) for v in values)]))
        label_target.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        if image.split and image.split not in splits_present:
            splits_present.append(image.split)
    config: dict[str, Any] = {"path": "."}
    for split in SPLITS:
        if split in splits_present:
            config[split] = f"images/{split}"
    config["names"] = dict(enumerate(dataset.classes))
    text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    (out / "data.yaml").write_text(text, encoding="utf-8")
