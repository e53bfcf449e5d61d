"""Detection dataset versions: importing YOLO/COCO/VOC, loading back, exporting, describing.

A detection version is a folder of the store holding the images (at their paths in the
source) and ``boxes.json`` (:mod:`athanor.data.boxes`); its ``dataset.json`` says task
``detection``, the classes, the source format and the image and box counts per split.
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from athanor.data.box_formats import detect_format, read_boxes, write_boxes
from athanor.data.boxes import BoxDataset, load_boxes, save_boxes
from athanor.errors import DataError

if TYPE_CHECKING:
    from athanor.data.versions import DatasetRef
    from athanor.settings import Settings
    from athanor.spec.imports import ImportOptions

KIND = "detection"
TASK = "detection"
UNSPLIT = "unsplit"
"""The name of the images that the source gives no split, in the counts per split."""


def looks_like_detection(folder: Path) -> bool:
    """Whether a folder is plainly a detection dataset (for ``--kind auto``): a YOLO
    ``labels/`` folder beside ``images/``, VOC's ``Annotations/`` beside ``JPEGImages/``, or
    COCO ``annotations/*.json``. Class folders never look like one."""
    from athanor.data.box_formats.coco import annotation_files

    if (folder / "images").is_dir() and (folder / "labels").is_dir():
        return True
    if (folder / "Annotations").is_dir() and (folder / "JPEGImages").is_dir():
        return True
    return (folder / "annotations").is_dir() and bool(annotation_files(folder))


def write_detection_version(source: Path, folder: Path, options: ImportOptions) -> dict[str, Any]:
    """Read ``source`` (YOLO, COCO or VOC), check its boxes, and write the images and
    ``boxes.json`` into ``folder`` (an import's staging folder); the version's info.

    Raises:
        DataError: a bad box or file (unless ``options.skip_bad``), naming the file and line
            or key; no image at all.
    """
    box_format = options.format or detect_format(source)
    dataset, skipped, notes = read_boxes(source, box_format, skip_bad=options.skip_bad)
    if not dataset.images:
        raise DataError(f"{source}: no usable image with its labels ({box_format})")
    for image in dataset.images:
        target = folder / image.file
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(dataset.path_of(image), target)
    save_boxes(dataset, folder)
    return {
        **detection_info(dataset),
        "source_format": box_format,
        "report": {"skipped_count": len(skipped), "skipped": skipped, "notes": notes},
    }


def detection_info(dataset: BoxDataset) -> dict[str, Any]:
    """Task, classes, image and box counts (per split and per class) of a detection dataset."""
    per_class = Counter(box.label for image in dataset.images for box in image.boxes)
    splits: dict[str, dict[str, int]] = {}
    for image in dataset.images:
        counts = splits.setdefault(image.split or UNSPLIT, {"images": 0, "boxes": 0})
        counts["images"] += 1
        counts["boxes"] += len(image.boxes)
    return {
        "kind": KIND,
        "task": TASK,
        "rows": len(dataset.images),
        "images": len(dataset.images),
        "boxes": dataset.box_count(),
        "classes": list(dataset.classes),
        "class_counts": {name: per_class.get(i, 0) for i, name in enumerate(dataset.classes)},
        "splits": splits,
    }


def load_detection_version(ref: str | DatasetRef, settings: Settings | None = None) -> BoxDataset:
    """An imported detection version as a :class:`BoxDataset` whose ``root`` is the version's
    folder (``dataset.path_of(image)`` is the image file).

    Args:
        ref: ``NAME[@VERSION]`` of an imported detection dataset, or a resolved reference.
        settings: the store (default: from the environment).

    Raises:
        DatasetNotFound: an unknown name or version.
        DataError: not a detection dataset, or its files are missing.
    """
    from athanor.data.versions import resolve_dataset
    from athanor.store import open_store

    resolved = resolve_dataset(ref, settings) if isinstance(ref, str) else ref
    if resolved.version is None or resolved.version.kind != KIND:
        raise DataError(
            f"dataset {resolved.ref} is a {resolved.kind} dataset, not a detection one; "
            "import boxes with 'athanor data import PATH --kind detection'"
        )
    folder = open_store(settings).artifacts.local(resolved.version.path)
    return load_boxes(folder)


def export_detection(
    ref: str, box_format: str, out: Path, settings: Settings | None = None
) -> dict[str, Any]:
    """Write a detection version as YOLO, COCO or VOC (images copied) into the new folder
    ``out``; what was written.

    Raises:
        DatasetNotFound: an unknown name or version.
        DataError: not a detection dataset.
        UserError: an unknown format, or ``out`` is not a new or empty folder.
    """
    dataset = load_detection_version(ref, settings)
    written = write_boxes(dataset, box_format, Path(out))
    return {
        "dataset": ref,
        "format": box_format,
        "out": str(written),
        "images": len(dataset.images),
        "boxes": dataset.box_count(),
        "classes": len(dataset.classes),
    }


def sample_boxes(dataset: BoxDataset, count: int, seed: int) -> list[dict[str, Any]]:
    """A seeded random sample of images with their boxes (class names, pixel ``xyxy``)."""
    import random

    chosen = sorted(
        random.Random(seed).sample(range(len(dataset.images)), min(count, len(dataset.images)))
    )
    return [
        {
            "file": dataset.images[i].file,
            "width": dataset.images[i].width,
            "height": dataset.images[i].height,
            "split": dataset.images[i].split,
            "boxes": [
                {"class": dataset.classes[box.label], "xyxy": [round(v, 2) for v in box.xyxy]}
                for box in dataset.images[i].boxes
            ],
        }
        for i in chosen
    ]
