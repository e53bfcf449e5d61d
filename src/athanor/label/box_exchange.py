"""A box project's labels in and out: COCO JSON, Pascal VOC, YOLO and Label Studio JSON.

COCO, VOC and YOLO go through the detection readers and writers of
:mod:`athanor.data.box_formats` (the same code as ``athanor data import/export``): an export
is a zip of the folder the writer makes, images included, of the labeled items; an import is
such a zip (or a folder, from the CLI), read and checked by the reader, each image matched to
an item by its file name. Label Studio JSON holds ``rectanglelabels`` (and ``polygonlabels``)
results in percent of the image, people's boxes as ``annotations`` and the model's as
``predictions`` with their scores.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Any

from athanor.data.box_formats import read_boxes, write_boxes
from athanor.data.box_formats._common import MAX_IMAGES
from athanor.errors import DataError, PayloadTooLarge, UserError
from athanor.label.box_labels import (
    checked_boxes,
    project_box_dataset,
    require_boxes,
    set_boxes,
)
from athanor.label.formats import label_studio_task
from athanor.label.uncertainty import box_uncertainties
from athanor.store import Store
from athanor.store.labeling import BOXES_LABEL, LabelItemRecord, LabelProjectRecord, Prelabel

BOX_FORMATS = ("coco", "voc", "yolo", "labelstudio")
MEDIA_TYPES = {"coco": "application/zip", "voc": "application/zip", "yolo": "application/zip"}
MAX_ARCHIVE_ENTRIES = 2 * MAX_IMAGES + 1000
MAX_RATIO = 200
"""Uncompressed / compressed size above which a member is refused as a zip bomb."""


def export_boxes(store: Store, name: str, format: str) -> bytes:
    """Box project ``name``'s labeled items in ``format``: a zip (coco, voc, yolo) or
    Label Studio JSON (every item, with the model's boxes as predictions).

    Raises:
        UserError: an unknown format, or not a box project.
    """
    _check_format(format)
    project = store.labeling.get_project(name)
    require_boxes(project)
    if format == "labelstudio":
        records = store.labeling.get_items(project.id)
        return json.dumps(_tasks(records), ensure_ascii=False, indent=1).encode()
    with tempfile.TemporaryDirectory(prefix="athanor-export-") as scratch:
        dataset, _ = project_box_dataset(store, project, Path(scratch))
        folder = write_boxes(dataset, format, Path(scratch) / "out")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(folder.rglob("*")):
                if file.is_file():
                    archive.write(file, arcname=file.relative_to(folder).as_posix())
        return buffer.getvalue()


def import_boxes(
    store: Store, name: str, format: str, content: bytes | Path, *, by: str
) -> dict[str, Any]:
    """Read boxes in ``format`` into box project ``name`` as ``by``'s labels (Label Studio
    predictions as pre-labels): ``{imported, predictions, counts}``.

    ``content`` is the file's bytes (a zip for coco, voc and yolo) or a folder to read.

    Raises:
        DataError: a file not in the format, an image naming no item, a bad box (naming
            the file and line or key path).
        UserError: an unknown format, a class outside the label set, not a box project.
        PayloadTooLarge: a zip beyond the archive limits.
    """
    _check_format(format)
    project = store.labeling.get_project(name)
    require_boxes(project)
    records = store.labeling.get_items(project.id)
    items = _item_keys(records)
    if format == "labelstudio":
        raw = content.read_bytes() if isinstance(content, Path) else content
        changes, prelabels = _tasks_in(raw, items, {r.item: r for r in records}, project)
    else:
        with tempfile.TemporaryDirectory(prefix="athanor-import-") as scratch:
            folder = content if isinstance(content, Path) else _unzip(content, Path(scratch))
            dataset, _, _ = read_boxes(folder, format)
            unknown = sorted(set(dataset.classes) - set(project.label_names))
            used = {dataset.classes[b.label] for image in dataset.images for b in image.boxes}
            if unknown and used & set(unknown):
                raise UserError(
                    f"{format} labels: class(es) {', '.join(sorted(used & set(unknown)))} are "
                    f"not in project {name}'s label set ({', '.join(project.label_names)}); "
                    "add them first"
                )
            changes = []
            for image in dataset.images:
                item = _match(items, image.file)
                if item is None:
                    raise DataError(f"{format} labels: {image.file} is not an item of {name}")
                boxes = [
                    {
                        "class": dataset.classes[box.label],
                        "xyxy": list(box.xyxy),
                        **({"polygon": [list(p) for p in box.polygon]} if box.polygon else {}),
                    }
                    for box in image.boxes
                ]
                changes.append((item, boxes))
        prelabels = []
    result = set_boxes(store, name, changes, by=by) if changes else None
    if prelabels:
        models = sorted({model for _, model in prelabels})
        store.labeling.set_prelabels(project.id, [p for p, _ in prelabels], ", ".join(models))
    return {
        "imported": len(changes),
        "predictions": len(prelabels),
        "counts": result["counts"] if result else store.labeling.counts(project.id),
    }


def _check_format(format: str) -> None:
    if format not in BOX_FORMATS:
        raise UserError(f"format: '{format}' is not one of {', '.join(BOX_FORMATS)} for boxes")


def _item_keys(records: list[LabelItemRecord]) -> dict[str, int]:
    """The file names an item's image may have in an export: its own path, its base name,
    its path flattened with ``_`` and the name of an images version's export."""
    keys: dict[str, int] = {}
    for r in records:
        path = PurePosixPath(r.name)
        for key in (f"{r.item:06d}-{path.stem or 'image'}.png", path.name, r.name):
            keys[key] = r.item
        keys[r.name.replace("/", "_")] = r.item
    return keys


def _match(keys: dict[str, int], file: str) -> int | None:
    path = PurePosixPath(file.replace("\\", "/"))
    for key in (str(path), path.name):
        if key in keys:
            return keys[key]
    return None


def _unzip(content: bytes, folder: Path) -> Path:
    """Extract the zip ``content`` into ``folder``, refusing what could escape or explode."""
    from athanor.spec.limits import current_limits

    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as exc:
        raise DataError(f"labels: not a zip file ({exc}); export one with this format") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ARCHIVE_ENTRIES:
            raise PayloadTooLarge(
                f"labels zip: {len(entries):,} entries; at most {MAX_ARCHIVE_ENTRIES:,}"
            )
        total = sum(info.file_size for info in entries)
        limit = current_limits().max_archive_bytes
        if total > limit:
            raise PayloadTooLarge(f"labels zip: {total:,} bytes uncompressed; at most {limit:,}")
        root = folder / "labels"
        for info in entries:
            parts = PurePosixPath(info.filename.replace("\\", "/")).parts
            if not parts or parts[0] == "/" or ".." in parts or ":" in parts[0]:
                raise DataError(f"labels zip: member {info.filename!r} leads outside the zip")
            if info.file_size > 1 << 20 and info.file_size / max(info.compress_size, 1) > MAX_RATIO:
                raise PayloadTooLarge(f"labels zip: {info.filename!r} expands too much (a bomb?)")
            if info.is_dir():
                continue
            target = root.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(info) as reader, target.open("wb") as writer:
                    shutil.copyfileobj(reader, writer)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
                raise DataError(f"labels zip: {info.filename!r} is corrupt ({exc})") from None
    return root


def _percent(value: float, size: int) -> float:
    return value * 100.0 / size


def _results(boxes: list[dict[str, Any]], record: LabelItemRecord) -> list[dict[str, Any]]:
    width, height = record.width or 1, record.height or 1
    out = []
    for box in boxes:
        common = {
            "from_name": "label",
            "to_name": "image",
            "original_width": width,
            "original_height": height,
        }
        if box.get("polygon"):
            points = [[_percent(x, width), _percent(y, height)] for x, y in box["polygon"]]
            out.append(
                {
                    **common,
                    "type": "polygonlabels",
                    "value": {"points": points, "polygonlabels": [box["class"]]},
                }
            )
            continue
        x0, y0, x1, y1 = box["xyxy"]
        value = {
            "x": _percent(x0, width),
            "y": _percent(y0, height),
            "width": _percent(x1 - x0, width),
            "height": _percent(y1 - y0, height),
            "rotation": 0,
            "rectanglelabels": [box["class"]],
        }
        result = {**common, "type": "rectanglelabels", "value": value}
        if box.get("score") is not None:
            result["score"] = box["score"]
        out.append(result)
    return out


def _tasks(records: list[LabelItemRecord]) -> list[dict[str, Any]]:
    tasks = []
    for r in records:
        labeled = r.label is not None and r.boxes is not None and r.review != "rejected"
        task = label_studio_task(
            r,
            {"image": r.name, "athanor_id": r.item},
            _results(r.boxes, r) if labeled else None,
            _results(r.predicted_boxes, r) if r.predicted_boxes is not None else None,
        )
        tasks.append(task)
    return tasks


def _boxes_in(entry: Any, record: LabelItemRecord, where: str) -> list[dict[str, Any]]:
    width, height = record.width or 0, record.height or 0
    boxes = []
    results = entry.get("result") if isinstance(entry, dict) else None
    for number, result in enumerate(results or []):
        at = f"{where}.result[{number}]"
        if not isinstance(result, dict) or not isinstance(result.get("value"), dict):
            raise DataError(f"{at}: expected an object with 'value'")
        value, kind = result["value"], result.get("type")
        labels = value.get(kind) if kind in ("rectanglelabels", "polygonlabels") else None
        if not labels:
            continue  # choices, text areas and the like are not boxes
        try:
            if kind == "polygonlabels":
                polygon = [
                    [float(x) * width / 100, float(y) * height / 100] for x, y in value["points"]
                ]
                box: dict[str, Any] = {"class": str(labels[0]), "polygon": polygon}
            else:
                x, y = float(value["x"]) * width / 100, float(value["y"]) * height / 100
                w, h = float(value["width"]) * width / 100, float(value["height"]) * height / 100
                box = {"class": str(labels[0]), "xyxy": [x, y, x + w, y + h]}
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{at}.value: not a {kind} value ({exc})") from None
        if isinstance(result.get("score"), int | float):
            box["score"] = float(result["score"])
        boxes.append(box)
    return boxes


def _tasks_in(
    content: bytes,
    keys: dict[str, int],
    records: dict[int, LabelItemRecord],
    project: LabelProjectRecord,
) -> tuple[list[tuple[int, list[dict[str, Any]]]], list[tuple[Prelabel, str]]]:
    try:
        tasks = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"Label Studio JSON: not a JSON file ({exc})") from None
    if not isinstance(tasks, list):
        raise DataError("Label Studio JSON: expected a list of tasks")
    changes: list[tuple[int, list[dict[str, Any]]]] = []
    prelabels: list[tuple[Prelabel, str]] = []
    for number, task in enumerate(tasks):
        where = f"Label Studio JSON, task {number}"
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise DataError(f"{where}: expected an object with 'data'")
        data = task["data"]
        item = data.get("athanor_id")
        if not isinstance(item, int) or item not in records:
            item = _match(keys, str(data.get("image") or ""))
        if item is None:
            raise DataError(f"{where}: no item with image '{str(data.get('image'))[:80]}'")
        record = records[item]
        annotations = [a for a in task.get("annotations") or [] if isinstance(a, dict)]
        if annotations:
            boxes = _boxes_in(annotations[-1], record, f"{where}.annotations[-1]")
            changes.append((item, [{k: v for k, v in b.items() if k != "score"} for b in boxes]))
        for index, prediction in enumerate(task.get("predictions") or []):
            boxes = _boxes_in(prediction, record, f"{where}.predictions[{index}]")
            boxes = checked_boxes(project, record, boxes, keep_scores=True)
            confidence, unsure = box_uncertainties([b.get("score", 1.0) for b in boxes])
            model = str(prediction.get("model_version") or "imported")
            prelabels.append(
                (Prelabel(item, BOXES_LABEL, confidence, boxes=boxes, **unsure), model)
            )
    return changes, prelabels
