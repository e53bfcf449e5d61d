"""Pre-labeling: a registered model's answers for the items nobody has labeled yet."""

from __future__ import annotations

from typing import Any

import numpy as np

from athanor.errors import UserError
from athanor.label import sources
from athanor.label.uncertainty import uncertainties
from athanor.registry.registry import package_path, resolve
from athanor.store import Store
from athanor.store.labeling import Prelabel

BATCH = 512


def prelabel(store: Store, name: str, model: str, *, device: str = "cpu") -> dict[str, Any]:
    """Pre-label every item of project ``name`` without a label (and not rejected) with the
    registered model ``model`` (``NAME[@VERSION|@ALIAS]``): ``{prelabeled, model, counts}``.

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
