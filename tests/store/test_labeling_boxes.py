"""Box projects in the metadata database, on SQLite and PostgreSQL: image sizes, boxes as
labels and pre-labels, accepting them, counts of boxes per class."""

from __future__ import annotations

import pytest

from athanor.store import open_store
from athanor.store.labeling import BOXES_LABEL, Prelabel

pytestmark = pytest.mark.usefixtures("backend")

CAT = {"class": "cat", "xyxy": [1.5, 2.0, 30.25, 40.0]}
DOG = {"class": "dog", "xyxy": [10.0, 10.0, 20.0, 20.0], "polygon": [[10, 10], [20, 10], [15, 20]]}


def test_boxes_are_labels_and_pre_labels_with_counts_per_class() -> None:
    repository = open_store().labeling
    project = repository.create_project(
        "boxes",
        dataset="pics@1",
        kind="detection",
        labels=[{"name": "cat"}, {"name": "dog"}],
        instructions="",
        created_by="ann",
        items=[("a.png", BOXES_LABEL), ("b.png", None), ("c.png", None)],
        images=[
            {"width": 64, "height": 48, "boxes": [CAT]},
            {"width": 32, "height": 32, "boxes": None},
            {"width": 50, "height": 50, "boxes": None},
        ],
    )
    first = repository.get_items(project.id, [0])[0]
    assert (first.width, first.height, first.boxes) == (64, 48, [CAT])
    assert first.labeled_by == "imported" and first.source == "person"
    repository.set_labels(
        project.id, [{"item": 1, "label": BOXES_LABEL, "boxes": [DOG, CAT]}], by="bob", vote=False
    )
    model_box = {**CAT, "score": 0.875}
    repository.set_prelabels(
        project.id, [Prelabel(2, BOXES_LABEL, 0.875, 0.125, 0.25, 0.5, boxes=[model_box])], "m@1"
    )
    counts = repository.counts(project.id)
    assert counts["labeled"] == 2 and counts["prelabeled"] == 1
    assert counts["per_class"] == {"cat": 2, "dog": 1} and counts["boxes"] == 3
    total, page = repository.items(project.id, state="prelabeled", sort="uncertainty")
    assert total == 1 and page[0].predicted_boxes == [model_box] and page[0].boxes is None
    assert repository.accept_prelabels(project.id, ids=None, min_confidence=0.9, by="c") == 0
    assert repository.accept_prelabels(project.id, ids=None, min_confidence=0.8, by="c") == 1
    accepted = repository.get_items(project.id, [2])[0]
    assert accepted.boxes == [model_box] and accepted.source == "model"
    assert accepted.review == "accepted" and accepted.labeled_by == "c"
    assert repository.counts(project.id)["per_class"] == {"cat": 3, "dog": 1}
    assert repository.votes(project.id) == []
    repository.set_labels(
        project.id, [{"item": 1, "label": BOXES_LABEL, "boxes": [DOG]}], by="cy"
    )  # a person's boxes are their vote, for agreement
    assert repository.box_votes(project.id) == [(1, "cy", [DOG])]
    assert repository.votes(project.id) == [(1, "cy", BOXES_LABEL)]
