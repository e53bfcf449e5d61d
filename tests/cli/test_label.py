"""``athanor label`` in real subprocesses: create, export and import, and a mistake as a
one-line error (the whole flow is tests/e2e/test_stories.py)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_main import athanor
from tests.label.conftest import write_mnist_pngs


def test_create_label_export_import_and_mistakes(tmp_path: Path) -> None:
    write_mnist_pngs(tmp_path / "digits", 12, labeled=6)
    out = athanor("data", "import", str(tmp_path / "digits"), "--name", "scans").stdout
    assert "6 of 12 items are unlabeled" in out and "uses only the labeled items" in out
    created = athanor(
        "label", "create", "scans-a", "--dataset", "scans", "--labels", "0,1,2,3,4,5,6,7,8,9"
    ).stdout
    assert "project scans-a on scans@" in created and "6 of 12 labeled" in created
    exported = tmp_path / "labels.json"
    athanor("label", "export", "scans-a", "-o", str(exported), "--format", "labelstudio")
    assert len(json.loads(exported.read_text())) == 12
    imported = json.loads(athanor("label", "import", "scans-a", str(exported), "--json").stdout)
    assert imported["imported"] == 6 and imported["counts"]["labeled"] == 6
    wrong = athanor("label", "set", "scans-a", "6=cat", check=False)
    assert wrong.returncode == 2 and "label(s) cat are not in project scans-a" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_a_box_project_created_exported_as_coco_and_imported_back(tmp_path: Path) -> None:
    from athanor.data.importing import import_dataset
    from tests.label.conftest import write_digit_canvases

    write_digit_canvases(tmp_path / "canvases", 4, box_format="voc")
    import_dataset(tmp_path / "canvases", name="cans", kind="detection")
    created = athanor("label", "create", "cans-boxes", "-d", "cans", "--kind", "detection").stdout
    assert "project cans-boxes on cans@" in created and "(detection)" in created
    assert "4 of 4 labeled" in created
    exported = tmp_path / "boxes.zip"
    athanor("label", "export", "cans-boxes", "-o", str(exported))  # a box project: COCO
    imported = json.loads(athanor("label", "import", "cans-boxes", str(exported), "--json").stdout)
    assert imported["imported"] == 4 and imported["counts"]["labeled"] == 4
    from athanor.label.box_labels import set_boxes
    from athanor.store import open_store

    store = open_store()
    for person, shift in (("ann", 0.0), ("bob", 3.0)):  # bob's box of item 1 is off by 3 px
        boxes = [{"class": "4", "xyxy": [10.0 + shift, 10.0, 40.0 + shift, 40.0]}]
        set_boxes(
            store,
            "cans-boxes",
            [(0, [{"class": "2", "xyxy": [5, 5, 30, 30]}]), (1, boxes)],
            by=person,
        )
    agreed = athanor("label", "agreement", "cans-boxes").stdout  # the importer is a third
    assert "2 items labeled by two or more people: box F1" in agreed and "ann / bob" in agreed
    pairs = lambda report: {(p["a"], p["b"]): p for p in report["pairs"]}  # noqa: E731
    loose = json.loads(athanor("label", "agreement", "cans-boxes", "--json").stdout)
    strict = json.loads(
        athanor("label", "agreement", "cans-boxes", "--iou", "0.9", "--json").stdout
    )
    assert pairs(loose)[("ann", "bob")]["agreement"] == 1.0
    assert pairs(strict)[("ann", "bob")]["agreement"] == 0.5  # IoU 27/33 < 0.9 on item 1
    wrong = athanor("label", "create", "x", "-d", "cans", "--kind", "text", check=False)
    assert wrong.returncode == 2 and "'text' does not fit dataset" in wrong.stderr
    few = athanor("label", "train", "cans-boxes", "--epochs", "1", check=False)
    assert few.returncode == 2 and "training a detector needs at least 10" in few.stderr


def test_a_box_project_trains_a_detector_that_prelabels_the_rest(tmp_path: Path) -> None:
    from athanor.data.importing import import_dataset
    from athanor.label.box_labels import set_boxes
    from athanor.store import open_store
    from tests.label.conftest import write_digit_canvases

    write_digit_canvases(tmp_path / "canvases", 12)
    import_dataset(tmp_path / "canvases", name="cans12", kind="detection")
    athanor("label", "create", "cans12-boxes", "-d", "cans12", "--kind", "detection")
    set_boxes(open_store(), "cans12-boxes", [(10, None), (11, None)], by="ann")
    trained = json.loads(
        athanor("label", "train", "cans12-boxes", "--epochs", "1", "--json").stdout
    )
    assert trained["dataset"] == "cans12-boxes@1" and trained["status"] == "succeeded"
    assert trained["model"] == "cans12-boxes-labels@1" and trained["prelabeled"] == 2
    assert "test_map50" in trained["test_metrics"]  # a detector, measured as one
