"""Box projects: created on a detection version (its boxes imported) or on plain images,
boxes set by people, bad boxes refused with the item, the box and what is valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from athanor.data.importing import import_dataset
from athanor.errors import UserError
from athanor.label import projects
from athanor.label.box_labels import BadBoxError, set_boxes
from athanor.store import open_store
from tests.label.conftest import write_digit_canvases, write_mnist_pngs


@pytest.fixture
def canvases(tmp_path: Path):
    write_digit_canvases(tmp_path / "canvases", 6)
    import_dataset(tmp_path / "canvases", name="canvases", kind="detection")
    store = open_store()
    return store, projects.create_project(store, "boxes", "canvases", kind="detection", by="ann")


def test_a_detection_version_becomes_a_box_project_with_its_boxes_as_person_labels(
    canvases,
) -> None:
    store, project = canvases
    assert project.kind == "detection" and project.label_names == [str(d) for d in range(10)]
    view = projects.project_view(store, project)
    assert view["counts"]["total"] == 6 and view["counts"]["labeled"] == 6
    assert view["counts"]["boxes"] == sum(view["counts"]["per_class"].values()) > 6
    item = projects.list_items(store, "boxes", limit=1)["items"][0]
    assert (item["width"], item["height"], item["by"]) == (96, 96, "imported")
    assert item["boxes"] and set(item["boxes"][0]) == {"class", "xyxy"}


def test_people_draw_boxes_and_polygons_and_changes_are_marked_fixed(canvases) -> None:
    store, _ = canvases
    before = projects.list_items(store, "boxes", limit=1)["items"][0]["boxes"]
    triangle = {"class": "7", "polygon": [[10, 10], [40, 12], [20, 50.004]]}
    set_boxes(store, "boxes", [(0, [*before, triangle])], by="bob")
    after = projects.list_items(store, "boxes", limit=1)["items"][0]
    assert after["boxes"][-1] == {
        "class": "7",
        "xyxy": [10.0, 10.0, 40.0, 50.0],
        "polygon": [[10.0, 10.0], [40.0, 12.0], [20.0, 50.0]],
    }
    assert (after["by"], after["review"], after["source"]) == ("bob", "fixed", "person")
    set_boxes(store, "boxes", [(1, []), (2, None)], by="bob")
    counts = store.labeling.counts(store.labeling.get_project("boxes").id)
    assert counts["labeled"] == 5 and counts["unlabeled"] == 1


@pytest.mark.parametrize(
    ("box", "message"),
    [
        ({"class": "cat", "xyxy": [1, 1, 5, 5]}, "box 1: class 'cat' is not in project boxes"),
        ({"class": "3", "xyxy": [10, 10, 10, 20]}, "box 1: zero area"),
        ({"class": "3", "xyxy": [10, 10, 97, 20]}, "box 1: out of the image"),
        ({"class": "3", "xyxy": [1, 2, 3]}, "box 1.xyxy: must be 4 finite numbers"),
        ({"class": "3", "polygon": [[1, 2], [3, 4]]}, "box 1.polygon: must be a list of 3"),
    ],
)
def test_bad_boxes_are_refused_naming_the_item_and_box(canvases, box, message) -> None:
    store, _ = canvases
    good = {"class": "3", "xyxy": [0, 0, 96, 96]}
    with pytest.raises(
        BadBoxError, match="item 4 \\(.*canvas004.png\\), " + message.replace("(", "\\(")
    ):
        set_boxes(store, "boxes", [(4, [good, box])], by="bob")


def test_plain_images_become_a_box_project_and_class_labels_are_refused(tmp_path: Path) -> None:
    write_mnist_pngs(tmp_path / "digits", 4)
    import_dataset(tmp_path / "digits", name="scans")
    store = open_store()
    from athanor.spec.labeling import LabelClass

    project = projects.create_project(
        store, "scan-boxes", "scans", kind="detection", labels=[LabelClass(name="ink")]
    )
    item = projects.list_items(store, "scan-boxes", limit=1)["items"][0]
    assert (item["width"], item["height"], item["boxes"]) == (28, 28, None)
    assert project.label_names == ["ink"]
    with pytest.raises(UserError, match="labels boxes"):
        projects.label_items(store, "scan-boxes", [(0, "ink")], by="ann")
    with pytest.raises(
        UserError, match="'text' does not fit dataset scans.*'image' or 'detection'"
    ):
        projects.create_project(store, "texty", "scans", kind="text")
