"""A box project end to end without a browser: publish a detection version with lineage,
train the centernet template on it, pre-label the unlabeled images with that detector,
sort them by doubt and accept those above a confidence."""

from __future__ import annotations

import pytest

from athanor.data.box_versions import load_detection_version
from athanor.errors import UserError
from athanor.label import projects
from athanor.label.box_labels import set_boxes
from athanor.label.prelabel import prelabel
from athanor.label.publish import publish
from athanor.settings import Settings
from athanor.store import Store, open_store
from tests.label.conftest import write_digit_canvases

UNLABELED = (30, 31, 32, 33, 34, 35)


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, Settings, dict]:
    """36 canvases (the last 6 unlabeled, one rejected) published and a centernet trained
    one epoch on the version and registered as ``digit-finder``."""
    import athanor as at
    from athanor.data.importing import import_dataset

    root = tmp_path_factory.mktemp("boxes")
    home = root / "home"
    settings = Settings(home=home, db_url=f"sqlite:///{home / 'athanor.db'}", data_mirrors=())
    write_digit_canvases(root / "canvases", 36)
    import_dataset(root / "canvases", name="canvases", kind="detection", settings=settings)
    store = open_store(settings)
    projects.create_project(store, "digit-boxes", "canvases", kind="detection", by="ann")
    set_boxes(store, "digit-boxes", [(item, None) for item in UNLABELED], by="ann")
    projects.review(store, "digit-boxes", [(0, "rejected", None)], by="ann")
    result = publish(store, "digit-boxes")
    spec = {
        "name": "digit-finder",
        "seed": 3,
        "data": {"dataset": result["dataset"], "split": {"val": 5}, "image": {"size": [48, 48]}},
        "model": {"template": "centernet", "width": 8, "depth": 2, "convs": 0, "head_width": 16},
        "train": {"epochs": 1, "batch_size": 8, "optimizer": {"type": "adam", "lr": 0.01}},
    }
    at.train(spec, register_as="digit-finder", progress=False, settings=settings)
    return store, settings, result


def test_published_boxes_are_a_detection_version_with_lineage(published) -> None:
    store, settings, result = published
    assert result["dataset"] == "digit-boxes@1" and result["labels"] == 29
    assert publish(store, "digit-boxes") == result  # the same labels: the same version
    version = store.datasets.get("digit-boxes", "1")
    assert version.kind == "detection" and version.info["lineage"] == {
        "project": "digit-boxes",
        "source": store.datasets.get("canvases", "1").ref,
        "labels": 29,
        "from_model": 0,
        "from_person": 29,
        "models": [],
    }
    dataset = load_detection_version("digit-boxes@1", settings)
    source = load_detection_version("canvases@1", settings)
    assert [image.file for image in dataset.images] == [i.file for i in source.images[1:30]]
    assert [image.boxes for image in dataset.images] == [i.boxes for i in source.images[1:30]]


def test_a_detector_pre_labels_boxes_sorted_by_doubt_and_accepted_above_a_score(
    published,
) -> None:
    store, _, _ = published
    with pytest.raises(UserError, match="min_score"):
        prelabel(store, "digit-boxes", "digit-finder", min_score=2.0)
    # A detector trained for one short epoch scores low: every box it finds is kept.
    answer = prelabel(store, "digit-boxes", "digit-finder", min_score=0.0)
    assert answer["prelabeled"] == len(UNLABELED) and answer["model"] == "digit-finder@1"
    page = projects.list_items(store, "digit-boxes", state="prelabeled", sort="uncertainty")
    assert page["total"] == len(UNLABELED)
    doubts = [item["prediction"]["uncertainty"]["least"] for item in page["items"]]
    assert doubts == sorted(doubts, reverse=True)
    boxed = [item for item in page["items"] if item["prediction"]["boxes"]]
    assert boxed, "the detector found nothing at all"
    for item in page["items"]:
        boxes = item["prediction"]["boxes"]
        assert all(0 < box["score"] <= 1 for box in boxes)
        # An item is as sure as its least sure box; one without a box is not sure at all.
        assert item["prediction"]["confidence"] == min((b["score"] for b in boxes), default=0)
        assert all(0 <= v <= 96 for box in boxes for v in box["xyxy"])
        assert all(box["xyxy"][0] < box["xyxy"][2] for box in boxes)
    lowest = min(item["prediction"]["confidence"] for item in boxed)
    accepted = projects.accept(store, "digit-boxes", min_confidence=lowest, by="ann")
    assert accepted["updated"] == len(boxed)
    labeled = projects.list_items(store, "digit-boxes", state="labeled", limit=500)["items"]
    by_model = [item for item in labeled if item["source"] == "model"]
    assert len(by_model) == len(boxed) and all(item["review"] == "accepted" for item in by_model)
    assert all(item["boxes"] and "score" in item["boxes"][0] for item in by_model)
    assert publish(store, "digit-boxes")["from_model"] == len(boxed)
