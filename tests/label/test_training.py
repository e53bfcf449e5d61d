""" "Train from labels" for a box project: a CenterNet run spec on the published boxes, the
refusals (a classification template, too few labeled images), and after the run the rest
pre-labeled with the new detector's boxes, waiting to be confirmed."""

from __future__ import annotations

import pytest

from athanor.errors import UserError
from athanor.label import projects
from athanor.label.box_labels import set_boxes
from athanor.label.training import (
    MIN_BOXED_IMAGES,
    after_training,
    publish_for_training,
    record_training,
    training_spec,
)
from athanor.settings import Settings
from athanor.store import Store, open_store
from tests.label.conftest import write_digit_canvases

CANVASES = 18
UNLABELED = (12, 13, 14, 15, 16, 17)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, Settings]:
    """18 digit canvases in a box project, the last 6 without boxes."""
    from athanor.data.importing import import_dataset

    root = tmp_path_factory.mktemp("box-training")
    home = root / "home"
    settings = Settings(home=home, db_url=f"sqlite:///{home / 'athanor.db'}", data_mirrors=())
    write_digit_canvases(root / "canvases", CANVASES)
    import_dataset(root / "canvases", name="canvases", kind="detection", settings=settings)
    store = open_store(settings)
    projects.create_project(store, "digit-boxes", "canvases", kind="detection", by="ann")
    set_boxes(store, "digit-boxes", [(item, None) for item in UNLABELED], by="ann")
    return store, settings


def test_a_box_project_refuses_classifiers_and_too_few_labels(store) -> None:
    store, _ = store
    with pytest.raises(UserError, match=r"template: lenet classifies.*auto or centernet"):
        publish_for_training(store, "digit-boxes", template="lenet")
    with pytest.raises(UserError, match="template: centernet detects boxes"):
        training_spec("image", "scans@1", project="scans", template="centernet")
    with pytest.raises(UserError, match=rf"has 4 labeled image\(s\).*at least {MIN_BOXED_IMAGES}"):
        training_spec("detection", "few@1", project="few", labeled=4)
    assert not store.datasets.exists("digit-boxes")  # refused before publishing


def test_a_trained_detector_pre_labels_the_rest_with_boxes(store) -> None:
    import athanor as at

    store, settings = store
    published, spec = publish_for_training(store, "digit-boxes", epochs=4)
    assert published["dataset"] == "digit-boxes@1" and published["labels"] == 12
    assert spec["model"]["template"] == "centernet" and spec["train"]["loss"] == "centernet"
    # The 96 px canvases are resized to the largest side kept (64), shifted by up to 4 px.
    assert spec["data"]["image"] == {"size": [64, 64], "augment": {"scale": 0.15, "crop": 4}}
    assert spec.pop("register_as") == "digit-boxes-labels"
    # A tiny detector, trained fast enough to score boxes above the detector's 0.3: seconds.
    spec["model"].update(width=8, depth=2, convs=0)
    spec["train"].update(batch_size=4, optimizer={"type": "adam", "lr": 0.01})
    spec["seed"] = 3
    run = at.train(spec, register_as="digit-boxes-labels", progress=False, settings=settings)
    record_training(store, "digit-boxes", job_id=run.id, status="running")
    result = after_training(store, run.id, "digit-boxes-labels@1")
    assert result["prelabeled"] == len(UNLABELED) and result["model"] == "digit-boxes-labels@1"
    training = store.labeling.get_project("digit-boxes").training
    assert training["status"] == "prelabeled" and training["prelabeled"] == len(UNLABELED)
    page = projects.list_items(store, "digit-boxes", state="prelabeled")
    assert sorted(item["id"] for item in page["items"]) == list(UNLABELED)
    assert all(item["prediction"]["label"] == "[boxes]" for item in page["items"])
    found = [box for item in page["items"] for box in item["prediction"]["boxes"]]
    assert found, "the detector found no box on any of the unlabeled canvases"
    assert all(0 <= box["xyxy"][0] < box["xyxy"][2] <= 96 for box in found)
    assert {box["class"] for box in found} <= {str(digit) for digit in range(10)}
