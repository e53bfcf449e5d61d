"""Pre-labeling: a registered model's answers for the items nobody has labeled yet.

A classifier pre-labels class projects; a detector (``task: detection``) pre-labels box
projects with its boxes, each item's confidence being its least confident box's score (see
:func:`athanor.label.uncertainty.box_uncertainties`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from athanor.errors import UserError
from athanor.label import sources
from athanor.label.uncertainty import box_uncertainties, uncertainties
from athanor.registry.registry import package_path, resolve
from athanor.store import Store
from athanor.store.labeling import BOXES_LABEL, Prelabel

BATCH = 512


def prelabel(
    store: Store,
    name: str,
    model: str,
    *,
    device: str = "cpu",
    min_score: float | None = None,
) -> dict[str, Any]:
    """Pre-label every item of project ``name`` without a label (and not rejected) with the
    registered model ``model`` (``NAME[@VERSION|@ALIAS]``): ``{prelabeled, model, counts}``.

    ``min_score`` (detectors only) is the lowest box score kept (default: the detector's,
    :data:`athanor.serve.detection_prediction.MIN_SCORE`).

    Raises:
        NotFound: no such project or model.
        UserError: a model that does not classify this kind of data, or whose classes are
            not labels of the project.
    """
    from athanor.serve.predictor import Predictor

    project = store.labeling.get_project(name)
    record = resolve(store, model)
    predictor = Predictor.from_package(
        package_path(store, record),
        expected_hash=record.content_hash,
        device=device,
        ref=record.ref,
    )
    classes = predictor.classes
    wanted = "tokens" if project.kind == "text" else "image"
    if project.kind == "detection":
        return _prelabel_boxes(store, project, predictor, record.ref, min_score)
    if predictor.schema.task != "classification" or not classes:
        raise UserError(f"model {record.ref} does not classify; pre-labels come from classifiers")
    if predictor.schema.input.kind != wanted:
        raise UserError(
            f"model {record.ref} takes {predictor.schema.input.kind} inputs; project "
            f"{name} labels {'texts' if project.kind == 'text' else 'images'}"
        )
    outside = sorted(set(classes) - set(project.label_names))
    if outside:
        raise UserError(
            f"model {record.ref} predicts {', '.join(outside)}, which are not labels of project "
            f"{name} ({', '.join(project.label_names)}); add them to the label set first"
        )
    source = sources.source_version(store, project.dataset)
    pending = [
        r.item
        for r in store.labeling.get_items(project.id)
        if r.label is None and r.review != "rejected"
    ]
    answers: list[Prelabel] = []
    for start in range(0, len(pending), BATCH):
        chunk = np.array(pending[start : start + BATCH], dtype=np.int64)
        probabilities = _probabilities(predictor, source, chunk, project.kind)
        unsure = uncertainties(probabilities)
        best = probabilities.argmax(axis=1)
        for position, item in enumerate(chunk.tolist()):
            answers.append(
                Prelabel(
                    item=item,
                    label=classes[int(best[position])],
                    confidence=float(probabilities[position, best[position]]),
                    least=float(unsure["least"][position]),
                    margin=float(unsure["margin"][position]),
                    entropy=float(unsure["entropy"][position]),
                )
            )
    store.labeling.set_prelabels(project.id, answers, record.ref)
    return {
        "prelabeled": len(answers),
        "model": record.ref,
        "counts": store.labeling.counts(project.id),
    }


def _probabilities(predictor: Any, source: Any, items: np.ndarray, kind: str) -> np.ndarray:
    if kind == "text":
        documents = sources.texts(source)
        return predictor.predict_proba([documents[i] for i in items.tolist()])
    channels, height, width = (int(v) for v in predictor.schema.input.shape)
    batch = sources.images(source.folder)[items].resized((height, width), channels)
    return predictor.scores(batch)


def _prelabel_boxes(
    store: Store, project: Any, predictor: Any, ref: str, min_score: float | None
) -> dict[str, Any]:
    classes = predictor.classes or []
    if predictor.schema.task != "detection" or predictor.schema.input.kind != "image":
        raise UserError(
            f"model {ref} does {predictor.schema.task}; project {project.name} labels boxes, "
            "so its pre-labels come from a detector (e.g. the centernet template)"
        )
    if min_score is not None and not 0.0 <= min_score <= 1.0:
        raise UserError(f"min_score: {min_score} is not within 0..1")
    outside = sorted(set(classes) - set(project.label_names))
    if outside:
        raise UserError(
            f"model {ref} detects {', '.join(outside)}, which are not labels of project "
            f"{project.name} ({', '.join(project.label_names)}); add them to the label set first"
        )
    source = sources.source_version(store, project.dataset)
    pending = [
        r
        for r in store.labeling.get_items(project.id)
        if r.label is None and r.review != "rejected"
    ]
    answers: list[Prelabel] = []
    for start in range(0, len(pending), BATCH):
        chunk = pending[start : start + BATCH]
        pictures = [sources.item_picture(source, r.item) for r in chunk]
        found = predictor.detect(pictures, threshold=min_score)
        for record, prediction in zip(chunk, found, strict=True):
            boxes = _inside(prediction.boxes or [], record.width or 0, record.height or 0)
            confidence, unsure = box_uncertainties([box["score"] for box in boxes])
            answers.append(
                Prelabel(
                    item=record.item,
                    label=BOXES_LABEL,
                    confidence=confidence,
                    boxes=boxes,
                    **unsure,
                )
            )
    store.labeling.set_prelabels(project.id, answers, ref)
    return {"prelabeled": len(answers), "model": ref, "counts": store.labeling.counts(project.id)}


def _inside(found: list[dict[str, Any]], width: int, height: int) -> list[dict[str, Any]]:
    """A detector's boxes as project boxes: clipped to the image (a box edge past it is the
    decoder's rounding), those left without area dropped."""
    boxes = []
    for box in found:
        x0, y0, x1, y1 = (float(v) for v in box["xyxy"])
        x0, x1 = (round(min(max(v, 0.0), width), 2) for v in (x0, x1))
        y0, y1 = (round(min(max(v, 0.0), height), 2) for v in (y0, y1))
        if x1 > x0 and y1 > y0:
            boxes.append({"class": box["label"], "xyxy": [x0, y0, x1, y1], "score": box["score"]})
    return boxes
