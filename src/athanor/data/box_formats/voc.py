"""Pascal VOC: one XML file per image (``Annotations/*.xml``), images in ``JPEGImages/``.

Each ``<object>`` has a ``<name>`` (its class) and a ``<bndbox>`` of pixel ``xmin``,
``ymin``, ``xmax``, ``ymax``, read and written as the box's edges, as labelImg and CVAT do
(no one-pixel shift). The classes are those of a ``labels.txt`` (or ``classes.txt``) beside
``Annotations/``, one a line, when there is one; otherwise every name used, sorted.
``ImageSets/Main/{train,val,test}.txt`` give the splits.

XML from users is parsed with ``defusedxml``: a document type declaration (and so any entity
definition, the way to an entity-expansion bomb or to reading local files) is refused.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import defusedxml.ElementTree as SafeElementTree
from defusedxml import DefusedXmlException

from athanor.data.box_formats._common import (
    MAX_LABEL_FILE_BYTES,
    BoxSource,
    Problem,
    check_file_size,
    check_image_count,
    fit_to_image,
    flat_names,
    header_size,
    inside,
    number_text,
    read_small_text,
)
from athanor.data.boxes import MAX_BOXES_PER_IMAGE, SPLITS, Box, BoxDataset, BoxedImage
from athanor.data.images import IMAGE_SUFFIXES
from athanor.errors import DataError

CLASS_LISTS = ("labels.txt", "classes.txt")
DECIMALS = 2
"""Decimals of the pixel coordinates written (whole pixels are written without any)."""


def xml_files(folder: Path) -> list[Path]:
    """The annotation files: ``Annotations/*.xml``, else the XML files at the top."""
    annotations = folder / "Annotations"
    base = annotations if annotations.is_dir() else folder
    return sorted(p for p in base.glob("*.xml") if not p.name.startswith("."))


def read_voc(folder: Path) -> BoxSource:
    """Read a Pascal VOC folder.

    Raises:
        DataError: no XML files, or an XML with a document type declaration (refused).
        PayloadTooLarge: an XML file beyond :data:`MAX_LABEL_FILE_BYTES`, or too many.
    """
    files = xml_files(folder)
    if not files:
        raise DataError(f"{folder}: no VOC annotation files (Annotations/*.xml)")
    check_image_count(len(files), str(folder))
    listed, classes_name = _class_list(folder)
    splits = _splits(folder)
    # (image, its size, (class name, xyxy, where) of each object, split)
    parsed: list[tuple[str, tuple[int, int], list[tuple[str, Any, str]], str | None]] = []
    source = BoxSource(BoxDataset((), (), root=folder), format="voc")
    names_used: set[str] = set()
    for file in files:
        name = file.relative_to(folder).as_posix()
        check_file_size(file, name, MAX_LABEL_FILE_BYTES)
        root = _parse(file, name, source)
        if root is None:
            continue
        image_path = _image_of(root, file, folder, name)
        if image_path is None:
            source.problems.append(Problem(name, "its image is not found", image=name))
            continue
        relative = image_path.relative_to(folder).as_posix()
        size = header_size(image_path, relative)
        if isinstance(size, Problem):
            source.problems.append(size)
            continue
        declared = _declared_size(root)
        if declared is not None and declared != size:
            source.problems.append(
                Problem(
                    f"{name}: size",
                    f"width x height {declared[0]}x{declared[1]} but {relative} is "
                    f"{size[0]}x{size[1]}",
                    image=relative,
                )
            )
            continue
        objects = root.findall("object")
        if len(objects) > MAX_BOXES_PER_IMAGE:
            source.problems.append(
                Problem(
                    name, f"{len(objects):,} objects; at most {MAX_BOXES_PER_IMAGE:,}", relative
                )
            )
            continue
        boxes = []
        for i, element in enumerate(objects):
            where = f"{name}: object[{i}]"
            found = _object(element, where, source)
            if found is not None:
                names_used.add(found[0])
                boxes.append((found[0], found[1], where))
        parsed.append((relative, size, boxes, splits.get(file.stem)))
    classes = listed if listed is not None else sorted(names_used)
    index_of = {name: index for index, name in enumerate(classes)}
    images: list[BoxedImage] = []
    for relative, (width, height), boxes, split in parsed:
        kept = []
        for class_name, (x0, y0, x1, y1), where in boxes:
            if class_name not in index_of:
                source.problems.append(
                    Problem(
                        where,
                        f"class {class_name!r} is unknown; {classes_name} lists "
                        f"{len(classes)} classes: {', '.join(classes[:10])}"
                        + (", ..." if len(classes) > 10 else ""),
                    )
                )
                continue
            source.locations[(len(images), len(kept))] = where
            box = Box(x0, y0, x1, y1, index_of[class_name])
            kept.append(fit_to_image(box, width, height))
        images.append(BoxedImage(relative, width, height, tuple(kept), split))
    source.dataset = BoxDataset(tuple(classes), tuple(images), root=folder)
    return source


def _parse(file: Path, name: str, source: BoxSource) -> ElementTree.Element | None:
    try:
        return SafeElementTree.fromstring(file.read_bytes(), forbid_dtd=True)
    except DefusedXmlException as error:
        raise DataError(
            f"{name}: refused: XML with a document type declaration or entities "
            f"({type(error).__name__}); VOC annotations need neither, and entity expansion "
            "could exhaust memory or read other files"
        ) from None
    except ElementTree.ParseError as error:
        line, column = error.position
        source.problems.append(
            Problem(f"{name} line {line}, column {column}", "not well-formed XML", image=name)
        )
        return None


def _image_of(root: ElementTree.Element, file: Path, folder: Path, name: str) -> Path | None:
    # <path> names where the image was on the labeler's machine: never followed.
    filename = (root.findtext("filename") or "").strip()
    bases = [folder / "JPEGImages", file.parent, folder / "images", folder]
    if filename:
        for base in bases:
            candidate = inside(base, filename, f"{name}: filename")
            if candidate.is_file():
                return candidate
        return None
    for base in bases:
        for suffix in IMAGE_SUFFIXES:
            candidate = base / f"{file.stem}{suffix}"
            if candidate.is_file():
                return candidate
    return None


def _declared_size(root: ElementTree.Element) -> tuple[int, int] | None:
    try:
        width = int(float(root.findtext("size/width") or 0))
        height = int(float(root.findtext("size/height") or 0))
    except ValueError:
        return None
    return (width, height) if width > 0 and height > 0 else None  # 0: the tool did not know


def _object(
    element: ElementTree.Element, where: str, source: BoxSource
) -> tuple[str, tuple[float, ...]] | None:
    class_name = (element.findtext("name") or "").strip()
    if not class_name:
        source.problems.append(Problem(f"{where}.name", "missing; every object names its class"))
        return None
    values = []
    for key in ("xmin", "ymin", "xmax", "ymax"):
        text = element.findtext(f"bndbox/{key}")
        try:
            value = float(text) if text is not None else math.nan
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            source.problems.append(
                Problem(f"{where}.bndbox.{key}", f"{text!r} is not a finite number")
            )
            return None
        values.append(value)
    return class_name, tuple(values)


def _class_list(folder: Path) -> tuple[list[str] | None, str]:
    for name in CLASS_LISTS:
        path = folder / name
        if path.is_file():
            names = [line.strip() for line in read_small_text(path, name).splitlines()]
            names = [n for n in names if n]
            if len(set(names)) != len(names):
                raise DataError(f"{name}: a class name appears twice")
            if not names:
                raise DataError(f"{name}: no class names")
            return names, name
    return None, "the annotations"


def _splits(folder: Path) -> dict[str, str]:
    main = folder / "ImageSets" / "Main"
    splits: dict[str, str] = {}
    for split in SPLITS:
        path = main / f"{split}.txt"
        if path.is_file():
            name = path.relative_to(folder).as_posix()
            for line in read_small_text(path, name, 64 * MAX_LABEL_FILE_BYTES).splitlines():
                parts = line.split()
                if parts:
                    splits.setdefault(parts[0], split)
    return splits


def write_voc(dataset: BoxDataset, out: Path) -> None:
    """Write ``dataset`` as Pascal VOC into the empty folder ``out``: ``JPEGImages/``,
    ``Annotations/``, ``ImageSets/Main/<split>.txt`` and ``labels.txt`` (the classes in
    order, so classes without boxes are kept)."""
    names = flat_names(dataset)
    for sub in ("JPEGImages", "Annotations"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    splits: dict[str, list[str]] = {}
    for image in dataset.images:
        file_name = names[image.file]
        stem = Path(file_name).stem
        shutil.copyfile(dataset.path_of(image), out / "JPEGImages" / file_name)
        root = ElementTree.Element("annotation")
        _text(root, "folder", "JPEGImages")
        _text(root, "filename", file_name)
        size = ElementTree.SubElement(root, "size")
        _text(size, "width", image.width)
        _text(size, "height", image.height)
        _text(size, "depth", 3)
        for box in image.boxes:
            element = ElementTree.SubElement(root, "object")
            _text(element, "name", dataset.classes[box.label])
            _text(element, "difficult", 0)
            bndbox = ElementTree.SubElement(element, "bndbox")
            for key, value in zip(("xmin", "ymin", "xmax", "ymax"), box.xyxy, strict=True):
                _text(bndbox, key, number_text(value, DECIMALS))
        ElementTree.indent(root)
        ElementTree.ElementTree(root).write(
            out / "Annotations" / f"{stem}.xml", encoding="utf-8", xml_declaration=False
        )
        if image.split:
            splits.setdefault(image.split, []).append(stem)
    if splits:
        (out / "ImageSets" / "Main").mkdir(parents=True)
        for split, stems in splits.items():
            text = "".join(f"{stem}\n" for stem in stems)
            (out / "ImageSets" / "Main" / f"{split}.txt").write_text(text, encoding="utf-8")
    (out / "labels.txt").write_text("".join(f"{c}\n" for c in dataset.classes), encoding="utf-8")


def _text(parent: ElementTree.Element, tag: str, value: Any) -> None:
    ElementTree.SubElement(parent, tag).text = str(value)
