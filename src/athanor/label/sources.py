"""The items of the dataset version a project labels: names, imported labels, pixels, texts.

Images and documents versions (``athanor data import``) are labeled; each item keeps its
position in the version as its id. Items whose label is ``-1`` were imported unlabeled.
Box projects label an images version or a detection version (its image files and
``boxes.json``), whose boxes come in as imported labels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from athanor.data.documents import DOCUMENTS_FILE
from athanor.data.importing import DATASET_JSON
from athanor.data.versions import resolve_dataset
from athanor.errors import DataError, UserError
from athanor.store import DatasetVersionRecord, Store

KINDS = {"image": "image", "text_classes": "text", "detection": "detection"}
"""Dataset version kinds that can be labeled, and the project kind of each by default."""
PROJECT_KINDS = {"image": ("image", "detection"), "text": ("text",), "detection": ("detection",)}
"""The project kinds each default kind allows: images are labeled by class or by boxes."""


@dataclass(frozen=True)
class SourceVersion:
    """A dataset version to label."""

    record: DatasetVersionRecord
    folder: Path
    info: dict[str, Any]

    @property
    def project_kind(self) -> str:
        return KINDS[self.info["kind"]]

    @property
    def classes(self) -> list[str]:
        return list(self.info.get("classes") or [])


def source_version(store: Store, ref: str) -> SourceVersion:
    """The imported version ``NAME[@VERSION]`` names, if it can be labeled.

    Raises:
        DatasetNotFound: no such dataset or version.
        UserError: a catalog dataset or a kind that is not labeled here (tables, series).
    """
    resolved = resolve_dataset(ref, store.settings)
    if resolved.version is None:
        raise UserError(
            f"dataset '{ref}' is a catalog dataset; import your own images or texts with "
            "'athanor data import' and label that",
            code="label_dataset_unsuitable",
            params={"dataset": ref, "kind": "catalog"},
            field="dataset",
        )
    record = resolved.version
    folder = store.artifacts.local(record.path)
    info = json.loads((folder / DATASET_JSON).read_text())
    if info["kind"] not in KINDS:
        raise UserError(
            f"dataset '{record.ref}' holds {info['kind']} data; labeling takes images or "
            "documents (import a folder of images or texts, or a CSV text column with "
            "--kind documents)",
            code="label_dataset_unsuitable",
            params={"dataset": record.ref, "kind": info["kind"]},
            field="dataset",
        )
    return SourceVersion(record, folder, info)


def item_names_and_labels(source: SourceVersion) -> tuple[list[str], np.ndarray]:
    """Each item's name (file, or first words of a text) and imported class index (-1)."""
    if source.info["kind"] == "detection":
        files = [image.file for image in boxed_images(source.folder).images]
        return files, np.full(len(files), -1, dtype=np.int64)
    if source.info["kind"] == "image":
        labels = np.load(source.folder / "labels.npy", allow_pickle=False)
        meta = json.loads((source.folder / "images.json").read_text())
        files = meta.get("files") or []
        names = files if len(files) == len(labels) else [f"image {i}" for i in range(len(labels))]
        return [str(n) for n in names], labels
    records = documents(source.folder)
    names = [str(r.get("file") or _first_words(r["text"])) for r in records]
    return names, np.array([int(r["label"]) for r in records], dtype=np.int64)


def texts(source: SourceVersion) -> list[str]:
    """The documents of a text version, by item id."""
    return [str(r["text"]) for r in documents(source.folder)]


def _first_words(text: str, words: int = 8) -> str:
    return " ".join(text.split()[:words])


@lru_cache(maxsize=4)
def documents(folder: Path) -> list[dict[str, Any]]:
    """The document records (text, label, test, file) of a text version, by item id."""
    path = folder / DOCUMENTS_FILE
    try:
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the documents ({exc})") from None


@lru_cache(maxsize=4)
def images(folder: Path):
    """The image collection of a version (cached: pages of thumbnails read it often)."""
    from athanor.data.images import ImageCollection

    return ImageCollection.load(folder)


def item_count(source: SourceVersion) -> int:
    """How many items (images or documents) the version holds."""
    if source.info["kind"] == "detection":
        return len(boxed_images(source.folder).images)
    if source.info["kind"] == "image":
        return len(images(source.folder))
    return len(documents(source.folder))


def item_picture(source: SourceVersion, item: int) -> Any:
    """One image of an images or detection version as a PIL image (its own pixels)."""
    from PIL import Image

    if source.info["kind"] == "detection":
        boxed = boxed_images(source.folder)
        with Image.open(boxed.path_of(boxed.images[item])) as picture:
            picture.load()
            return picture if picture.mode in ("L", "RGB") else picture.convert("RGB")
    array = images(source.folder).image(item)
    return Image.fromarray(array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0))


@lru_cache(maxsize=4)
def boxed_images(folder: Path):
    """The images and boxes of a detection version (cached like :func:`images`)."""
    from athanor.data.boxes import load_boxes

    return load_boxes(folder)


def item_images(source: SourceVersion) -> list[dict[str, Any]]:
    """Each image's ``width``, ``height`` and imported ``boxes`` (a detection version's
    boxes with class names; None where an image has none, so that a person labels it)."""
    if source.info["kind"] == "detection":
        boxed = boxed_images(source.folder)
        out = []
        for image in boxed.images:
            boxes = [
                {
                    "class": boxed.classes[box.label],
                    "xyxy": [float(v) for v in box.xyxy],
                    **({"polygon": [list(p) for p in box.polygon]} if box.polygon else {}),
                }
                for box in image.boxes
            ]
            out.append({"width": image.width, "height": image.height, "boxes": boxes or None})
        return out
    shapes = images(source.folder).own_shapes
    return [{"width": int(w), "height": int(h), "boxes": None} for _, h, w in shapes.tolist()]


def item_png(source: SourceVersion, item: int, size: int | None = None) -> bytes:
    """One image as PNG bytes, its longer edge at most ``size`` pixels when given.

    Raises:
        NotFound: no such item.
    """
    import io

    from athanor.errors import NotFound

    count = item_count(source)
    if not 0 <= item < count:
        raise NotFound(f"no item {item}; items are 0..{count - 1}")
    picture = item_picture(source, item)
    if size is not None and max(picture.size) > size:
        picture.thumbnail((size, size))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()
