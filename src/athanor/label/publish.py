"""Publishing a project: its labels as a content-hashed dataset version with lineage.

The version is named after the project and holds the source version's items (images or
documents) with the project's labels; items without a label, or rejected, stay in it
unlabeled (training skips them). Publishing the same labels again returns the same version.

A box project publishes a detection version (image files and ``boxes.json``, as
``athanor data import --kind detection`` makes) of its labeled items only: an image left out
of labeling is not an image without objects.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from athanor.data.documents import DOCUMENTS_FILE
from athanor.data.importing import DATASET_JSON
from athanor.label import sources
from athanor.store import Store

FORMAT = 1
_RELABELED = {"labels.npy", "images.json", DATASET_JSON, DOCUMENTS_FILE}


def publish(store: Store, name: str) -> dict[str, Any]:
    """Snapshot project ``name``'s labels: ``{dataset, content_hash, labels, from_model}``.

    Raises:
        NotFound: no such project.
    """
    project = store.labeling.get_project(name)
    if project.kind == "detection":
        return _publish_boxes(store, project)
    source = sources.source_version(store, project.dataset)
    classes = project.label_names
    records = store.labeling.get_items(project.id)
    labels = np.full(len(records), -1, dtype=np.int64)
    from_model = 0
    models: set[str] = set()
    for record in records:
        if record.label is None or record.review == "rejected":
            continue
        labels[record.item] = classes.index(record.label)
        if record.source == "model":
            from_model += 1
            if record.model:
                models.add(record.model)
    digest = hashlib.sha256()
    digest.update(f"athanor-labels-{FORMAT}\n{source.record.content_hash}\n".encode())
    digest.update(json.dumps(classes).encode() + b"\n" + labels.tobytes())
    content_hash = digest.hexdigest()
    labeled = int((labels >= 0).sum())
    lineage = {
        "project": project.name,
        "source": source.record.ref,
        "labels": labeled,
        "from_model": from_model,
        "from_person": labeled - from_model,
        "models": sorted(models),
    }
    existing = store.datasets.find(project.name, content_hash)
    if existing is None:
        destination = store.artifacts.dataset_dir(content_hash)
        if not (destination / DATASET_JSON).is_file():
            try:
                with store.artifacts.staging(destination) as staging:
                    info = _write(source, staging, classes, labels)
                    info.update(
                        {
                            "format": FORMAT,
                            "source": f"labeling project {project.name}",
                            "hash": content_hash,
                            "lineage": lineage,
                        }
                    )
                    (staging / DATASET_JSON).write_text(json.dumps(info, indent=1))
            except FileExistsError:
                pass  # published meanwhile by another request: use it
        info = json.loads((destination / DATASET_JSON).read_text())
        size = sum(p.stat().st_size for p in destination.rglob("*") if p.is_file())
        existing, _created = store.datasets.add_version(
            project.name,
            content_hash=content_hash,
            kind=source.record.kind,
            task="classification",
            path=store.artifacts.relative(destination),
            source=f"labeling project {project.name}",
            rows=len(labels),
            size_bytes=size,
            info=info,
        )
    return {
        "dataset": f"{existing.name}@{existing.number}",
        "content_hash": content_hash,
        "labels": labeled,
        "from_model": from_model,
    }


def _write(
    source: sources.SourceVersion, folder: Path, classes: list[str], labels: np.ndarray
) -> dict[str, Any]:
    counts = np.bincount(labels[labels >= 0], minlength=len(classes))
    info: dict[str, Any] = {
        key: source.info[key]
        for key in ("kind", "channels", "sizes", "lengths")
        if key in source.info
    }
    unlabeled = int((labels < 0).sum())
    info.update(
        {
            "task": "classification",
            "rows": len(labels),
            "classes": classes,
            "class_counts": dict(zip(classes, counts.tolist(), strict=True)),
            "test_rows": 0,
            "report": {"skipped_count": 0, "skipped": [], "notes": []},
            **({"unlabeled": unlabeled} if unlabeled else {}),
        }
    )
    if source.info["kind"] == "image":
        for file in source.folder.iterdir():
            if file.is_file() and file.name not in _RELABELED:
                _link_or_copy(file, folder / file.name)
        meta = json.loads((source.folder / "images.json").read_text())
        # The source's official test split (is_test.npy, linked above) is kept.
        np.save(folder / "labels.npy", labels, allow_pickle=False)
        info["test_rows"] = int(np.load(folder / "is_test.npy", allow_pickle=False).sum())
        (folder / "images.json").write_text(
            json.dumps({"classes": classes, "files": meta.get("files", [])}, indent=1)
        )
        return info
    originals = sources.documents(source.folder)
    with (folder / DOCUMENTS_FILE).open("w", encoding="utf-8") as handle:
        for original, label in zip(originals, labels.tolist(), strict=True):
            record = {**original, "label": label}
            info["test_rows"] += bool(original.get("test"))
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return info


def _link_or_copy(source: Path, target: Path) -> None:
    # The pixels of a version never change: a hard link shares them at no cost.
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _publish_boxes(store: Store, project: Any) -> dict[str, Any]:
    import tempfile

    from athanor.data.box_versions import detection_info
    from athanor.data.boxes import save_boxes
    from athanor.label.box_labels import project_box_dataset

    source = sources.source_version(store, project.dataset)
    with tempfile.TemporaryDirectory(prefix="athanor-publish-") as scratch:
        dataset, records = project_box_dataset(store, project, Path(scratch))
        from_model = sum(r.source == "model" for r in records)
        models = sorted({r.model for r in records if r.source == "model" and r.model})
        digest = hashlib.sha256()
        digest.update(f"athanor-box-labels-{FORMAT}\n{source.record.content_hash}\n".encode())
        digest.update(
            json.dumps([list(dataset.classes)] + [i.to_json() for i in dataset.images]).encode()
        )
        content_hash = digest.hexdigest()
        lineage = {
            "project": project.name,
            "source": source.record.ref,
            "labels": len(records),
            "from_model": from_model,
            "from_person": len(records) - from_model,
            "models": models,
        }
        existing = store.datasets.find(project.name, content_hash)
        if existing is None:
            destination = store.artifacts.dataset_dir(content_hash)
            if not (destination / DATASET_JSON).is_file():
                try:
                    with store.artifacts.staging(destination) as staging:
                        for image in dataset.images:
                            target = staging / image.file
                            target.parent.mkdir(parents=True, exist_ok=True)
                            _link_or_copy(dataset.path_of(image), target)
                        save_boxes(dataset, staging)
                        info = {
                            **detection_info(dataset),
                            "format": FORMAT,
                            "source": f"labeling project {project.name}",
                            "source_format": "labeling",
                            "hash": content_hash,
                            "lineage": lineage,
                            "report": {"skipped_count": 0, "skipped": [], "notes": []},
                        }
                        (staging / DATASET_JSON).write_text(json.dumps(info, indent=1))
                except FileExistsError:
                    pass  # published meanwhile by another request: use it
            info = json.loads((destination / DATASET_JSON).read_text())
            size = sum(p.stat().st_size for p in destination.rglob("*") if p.is_file())
            existing, _created = store.datasets.add_version(
                project.name,
                content_hash=content_hash,
                kind="detection",
                task="detection",
                path=store.artifacts.relative(destination),
                source=f"labeling project {project.name}",
                rows=len(dataset.images),
                size_bytes=size,
                info=info,
            )
    return {
        "dataset": f"{existing.name}@{existing.number}",
        "content_hash": content_hash,
        "labels": len(records),
        "from_model": from_model,
    }
