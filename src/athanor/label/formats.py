"""Labels in and out: CSV, Label Studio JSON, and class folders (a zip).

- CSV: ``file,label`` (image projects; ``file`` is the item's name) or ``text,label`` (text
  projects). Exported: every labeled item; imported: rows matched to items by name or text.
- Label Studio JSON: a list of tasks, ``data`` holding the image's name or the text (and
  ``athanor_id``), ``annotations`` with ``choices`` results (the labels people made) and
  ``predictions`` (the model's pre-labels, with ``score``). Both are read back on import.
- Class folders: a zip of ``<label>/<id>-<name>`` files (PNG images or ``.txt`` texts) with
  unlabeled items at the top level, which ``athanor data import`` reads back as a partly
  labeled dataset.

Box projects take COCO JSON, Pascal VOC, YOLO and Label Studio rectangles instead
(:mod:`athanor.label.box_exchange`).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from athanor.errors import DataError, UserError
from athanor.label import sources
from athanor.label.projects import label_items
from athanor.store import Store
from athanor.store.labeling import LabelItemRecord, Prelabel

EXPORT_FORMATS = ("csv", "labelstudio", "folders")
IMPORT_FORMATS = ("csv", "labelstudio")
BOX_FORMATS = ("coco", "voc", "yolo", "labelstudio")
"""The formats of box projects, in and out."""
MEDIA_TYPES = {
    "csv": "text/csv",
    "labelstudio": "application/json",
    "folders": "application/zip",
    "coco": "application/zip",
    "voc": "application/zip",
    "yolo": "application/zip",
}
SUFFIXES = {
    "csv": ".csv",
    "labelstudio": ".json",
    "folders": ".zip",
    "coco": "-coco.zip",
    "voc": "-voc.zip",
    "yolo": "-yolo.zip",
}


def export_labels(store: Store, name: str, format: str) -> bytes:
    """Project ``name``'s labels in ``format`` (csv, labelstudio or folders; a box project's
    coco, voc, yolo or labelstudio).

    Raises:
        UserError: an unknown format.
    """
    project = store.labeling.get_project(name)
    if project.kind == "detection":
        from athanor.label.box_exchange import export_boxes

        return export_boxes(store, name, format)
    if format not in EXPORT_FORMATS:
        raise UserError(
            f"format: '{format}' is not one of {', '.join(EXPORT_FORMATS)} (the box formats "
            f"{', '.join(BOX_FORMATS)} are for box projects)"
        )
    source = sources.source_version(store, project.dataset)
    records = store.labeling.get_items(project.id)
    texts = sources.texts(source) if project.kind == "text" else None
    if format == "csv":
        return _csv_out(records, texts)
    if format == "labelstudio":
        return json.dumps(_tasks(records, texts), ensure_ascii=False, indent=1).encode()
    return _folders_out(source, records, texts)


def import_labels(store: Store, name: str, format: str, content: bytes | Path, *, by: str) -> dict:
    """Read labels in ``format`` into project ``name`` as ``by``'s: ``{imported, counts}``.

    ``content`` is the file's bytes; a box project also takes a folder (coco, voc, yolo).

    Raises:
        DataError: a file that is not in the format, or rows naming no item, with the row.
        UserError: an unknown format or label.
    """
    project = store.labeling.get_project(name)
    if project.kind == "detection":
        from athanor.label.box_exchange import import_boxes

        return import_boxes(store, name, format, content, by=by)
    if format not in IMPORT_FORMATS:
        raise UserError(
            f"format: '{format}' is not one of {', '.join(IMPORT_FORMATS)} (the box formats "
            f"{', '.join(BOX_FORMATS)} are for box projects)"
        )
    if isinstance(content, Path):
        content = content.read_bytes()
    records = store.labeling.get_items(project.id)
    source = sources.source_version(store, project.dataset)
    if project.kind == "text":
        keys = {text: i for i, text in enumerate(sources.texts(source))}
    else:
        keys = {r.name: r.item for r in records}
    if format == "csv":
        changes = _csv_in(content, keys, "text" if project.kind == "text" else "file")
        prelabels: list[Prelabel] = []
        models: set[str] = set()
    else:
        changes, prelabels, models = _tasks_in(content, keys, project.kind)
    result = label_items(store, name, changes, by=by) if changes else None
    if prelabels:
        unknown = sorted({p.label for p in prelabels} - set(project.label_names))
        if unknown:
            raise UserError(f"predictions name labels not in the project: {', '.join(unknown)}")
        store.labeling.set_prelabels(project.id, prelabels, ", ".join(sorted(models)) or "imported")
    return {
        "imported": len(changes),
        "predictions": len(prelabels),
        "counts": result["counts"] if result else store.labeling.counts(project.id),
    }


def _labeled(records: list[LabelItemRecord]) -> list[LabelItemRecord]:
    return [r for r in records if r.label is not None and r.review != "rejected"]


def _csv_out(records: list[LabelItemRecord], texts: list[str] | None) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["text" if texts is not None else "file", "label"])
    for r in _labeled(records):
        writer.writerow([texts[r.item] if texts is not None else r.name, r.label])
    return buffer.getvalue().encode()


def _csv_in(content: bytes, keys: dict[str, int], key: str) -> list[tuple[int, str | None]]:
    try:
        rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"labels CSV: not a UTF-8 CSV file ({exc})") from None
    if not rows or [c.strip() for c in rows[0][:2]] != [key, "label"]:
        raise DataError(f"labels CSV, line 1: the header must be '{key},label'")
    changes: list[tuple[int, str | None]] = []
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) < 2:
            raise DataError(f"labels CSV, line {line}: expected '{key},label'")
        item = keys.get(row[0])
        if item is None:
            raise DataError(f"labels CSV, line {line}: no item with {key} '{row[0][:80]}'")
        changes.append((item, row[1].strip() or None))
    return changes


def _choice(label: str, kind: str) -> list[dict[str, Any]]:
    return [
        {
            "from_name": "label",
            "to_name": "image" if kind == "image" else "text",
            "type": "choices",
            "value": {"choices": [label]},
        }
    ]


def label_studio_task(
    record: LabelItemRecord,
    data: dict[str, Any],
    result: list[dict[str, Any]] | None,
    predicted: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    """One Label Studio task: the person's label as an annotation (who, when, source and
    review in its meta) and the model's as a prediction with its confidence, where given."""
    task: dict[str, Any] = {
        "id": record.item + 1,
        "data": data,
        "annotations": [],
        "predictions": [],
    }
    if result is not None:
        task["annotations"].append(
            {
                "result": result,
                "completed_by": record.labeled_by,
                "created_at": record.labeled_at.isoformat() if record.labeled_at else None,
                "meta": {"source": record.source, "review": record.review},
            }
        )
    if predicted is not None:
        task["predictions"].append(
            {"model_version": record.model, "score": record.confidence, "result": predicted}
        )
    return task


def _tasks(records: list[LabelItemRecord], texts: list[str] | None) -> list[dict[str, Any]]:
    kind = "text" if texts is not None else "image"
    tasks = []
    for r in records:
        data: dict[str, Any] = {"athanor_id": r.item}
        if texts is not None:
            data["text"] = texts[r.item]
        else:
            data["image"] = r.name
        labeled = r.label is not None and r.review != "rejected"
        task = label_studio_task(
            r,
            data,
            _choice(r.label, kind) if labeled else None,
            _choice(r.predicted, kind) if r.predicted is not None else None,
        )
        tasks.append(task)
    return tasks


def _first_choice(entry: dict[str, Any], where: str) -> str | None:
    for result in entry.get("result") or []:
        choices = (result.get("value") or {}).get("choices") or []
        if result.get("type") == "choices" and choices:
            return str(choices[0])
    return None


def _tasks_in(
    content: bytes, keys: dict[str, int], kind: str
) -> tuple[list[tuple[int, str | None]], list[Prelabel], set[str]]:
    try:
        tasks = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"Label Studio JSON: not a JSON file ({exc})") from None
    if not isinstance(tasks, list):
        raise DataError("Label Studio JSON: expected a list of tasks")
    changes: list[tuple[int, str | None]] = []
    prelabels: list[Prelabel] = []
    models: set[str] = set()
    field = "text" if kind == "text" else "image"
    for number, task in enumerate(tasks):
        where = f"Label Studio JSON, task {number}"
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise DataError(f"{where}: expected an object with 'data'")
        data = task["data"]
        item = data.get("athanor_id")
        if not isinstance(item, int) or item not in keys.values():
            item = keys.get(str(data.get(field)))
            if item is None and data.get(field) is not None:
                item = keys.get(PurePosixPath(str(data[field])).name)
        if item is None:
            raise DataError(f"{where}: no item with {field} '{str(data.get(field))[:80]}'")
        annotations = [a for a in task.get("annotations") or [] if isinstance(a, dict)]
        if annotations:
            label = _first_choice(annotations[-1], where)
            if label is not None:
                changes.append((item, label))
        for prediction in task.get("predictions") or []:
            if not isinstance(prediction, dict):
                continue
            label = _first_choice(prediction, where)
            if label is None:
                continue
            score = prediction.get("score")
            confidence = float(score) if isinstance(score, int | float) else 1.0
            confidence = min(max(confidence, 0.0), 1.0)
            models.add(str(prediction.get("model_version") or "imported"))
            # Only the top score is known: each measure of uncertainty falls back to it.
            prelabels.append(
                Prelabel(item, label, confidence, 1 - confidence, 1 - confidence, 1 - confidence)
            )
    return changes, prelabels, models


def _folders_out(
    source: sources.SourceVersion, records: list[LabelItemRecord], texts: list[str] | None
) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for r in records:
            stem = PurePosixPath(r.name).stem or "item"
            folder = f"{r.label}/" if r.label is not None and r.review != "rejected" else ""
            if texts is not None:
                archive.writestr(f"{folder}{r.item:06d}-{stem}.txt", texts[r.item])
            else:
                archive.writestr(
                    f"{folder}{r.item:06d}-{stem}.png", sources.item_png(source, r.item)
                )
    return buffer.getvalue()
