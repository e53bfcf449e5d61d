"""Box labels out and back in: COCO, VOC, YOLO and Label Studio JSON round trips into a
new project give identical boxes; bad files are refused naming the place."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from athanor.data.importing import import_dataset
from athanor.errors import DataError, UserError
from athanor.label import projects
from athanor.label.box_labels import set_boxes
from athanor.label.formats import export_labels, import_labels
from athanor.store import open_store
from tests.label.conftest import write_digit_canvases

TRIANGLE = {"class": "7", "polygon": [[10.5, 10.0], [40.0, 12.25], [20.0, 50.0]]}


@pytest.fixture
def two_projects(tmp_path: Path):
    """A box project of 5 canvases (one with a polygon, one with no box, one unlabeled,
    one rejected) and an empty one on the same images."""
    write_digit_canvases(tmp_path / "canvases", 5)
    import_dataset(tmp_path / "canvases", name="canvases", kind="detection")
    store = open_store()
    projects.create_project(store, "first", "canvases", kind="detection")
    first = projects.list_items(store, "first")["items"]
    set_boxes(store, "first", [(0, [*first[0]["boxes"], TRIANGLE]), (1, []), (2, None)], by="a")
    projects.review(store, "first", [(3, "rejected", None)], by="a")
    projects.create_project(store, "second", "canvases", kind="detection")
    set_boxes(store, "second", [(item, None) for item in range(5)], by="a")
    return store


def _boxes(store, name: str) -> dict[int, list]:
    items = projects.list_items(store, name, state="labeled")["items"]
    return {item["id"]: item["boxes"] for item in items}


@pytest.mark.parametrize("box_format", ["coco", "voc", "yolo", "labelstudio"])
def test_an_export_imported_into_a_new_project_gives_identical_boxes(
    two_projects, box_format: str
) -> None:
    store = two_projects
    content = export_labels(store, "first", box_format)
    expected = _boxes(store, "first")
    assert sorted(expected) == [0, 1, 4] and expected[1] == []
    result = import_labels(store, "second", box_format, content, by="b")
    assert result["imported"] == 3
    got = _boxes(store, "second")
    if box_format in ("voc", "yolo"):  # no polygons there: the polygon's box is kept
        expected[0][-1] = {"class": "7", "xyxy": [10.5, 10.0, 40.0, 50.0]}
    assert got == expected


def test_label_studio_keeps_model_boxes_as_predictions_with_scores(two_projects) -> None:
    from athanor.store.labeling import BOXES_LABEL, Prelabel

    store = two_projects
    project = store.labeling.get_project("first")
    box = {"class": "3", "xyxy": [4.0, 5.0, 30.0, 40.0], "score": 0.625}
    store.labeling.set_prelabels(
        project.id, [Prelabel(2, BOXES_LABEL, 0.625, 0.375, 0.75, 0.9, boxes=[box])], "m@2"
    )
    tasks = json.loads(export_labels(store, "first", "labelstudio"))
    result = tasks[2]["predictions"][0]["result"][0]
    assert result["type"] == "rectanglelabels" and result["score"] == 0.625
    assert result["value"]["rectanglelabels"] == ["3"]
    imported = import_labels(store, "second", "labelstudio", json.dumps(tasks).encode(), by="b")
    assert imported["predictions"] == 1
    item = projects.list_items(store, "second", state="prelabeled")["items"][0]
    assert item["prediction"]["boxes"] == [box] and item["prediction"]["model"] == "m@2"


def test_bad_box_files_are_refused_naming_the_place(two_projects) -> None:
    store = two_projects
    with pytest.raises(DataError, match="not a zip file"):
        import_labels(store, "second", "coco", b"not a zip", by="b")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../evil.json", "{}")
    with pytest.raises(DataError, match="leads outside the zip"):
        import_labels(store, "second", "coco", buffer.getvalue(), by="b")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("annotations/instances_default.json", "{" * 100)
    damaged = bytearray(buffer.getvalue())
    damaged[damaged.index(b"{{{{") + 10] = ord("x")  # its CRC no longer matches
    with pytest.raises(DataError, match="instances_default.json' is corrupt"):
        import_labels(store, "second", "coco", bytes(damaged), by="b")
    with pytest.raises(UserError, match="format: 'csv' is not one of coco, voc, yolo"):
        export_labels(store, "first", "csv")
    tasks = json.loads(export_labels(store, "first", "labelstudio"))
    tasks[0]["annotations"][0]["result"][0]["value"]["x"] = 99.0
    with pytest.raises(UserError, match="item 0 .*box 0: out of the image"):
        import_labels(store, "second", "labelstudio", json.dumps(tasks).encode(), by="b")
