"""``/v1/label/projects`` for box projects: create on a detection version, an item's boxes
read and replaced, bad boxes and bodies answered 4xx naming the box, COCO out and back in."""

from __future__ import annotations

import pytest

from tests.label.conftest import write_digit_canvases
from tests.server.routes.conftest import Api

BASE = "/v1/label/projects"


@pytest.fixture(scope="module")
def boxes_project(api: Api, tmp_path_factory: pytest.TempPathFactory) -> dict:
    from athanor.data.importing import import_dataset

    folder = tmp_path_factory.mktemp("box-routes") / "canvases"
    write_digit_canvases(folder, 4)
    import_dataset(folder, name="route-canvases", kind="detection", settings=api.settings)
    body = {"name": "route-boxes", "dataset": "route-canvases", "kind": "detection"}
    response = api.call("POST", BASE, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_an_items_boxes_are_read_replaced_and_checked(api: Api, boxes_project: dict) -> None:
    assert boxes_project["kind"] == "detection" and boxes_project["counts"]["labeled"] == 4
    item = api.call("GET", f"{BASE}/route-boxes/items/1").json()
    assert (item["width"], item["height"]) == (96, 96) and item["boxes"]
    image = api.call("GET", f"{BASE}/route-boxes/items/1/image")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    boxes = [
        {"class": "4", "xyxy": [1, 2, 30, 40]},
        {"class": "2", "polygon": [[5, 5], [9, 5], [7, 9]]},
    ]
    done = api.call("PUT", f"{BASE}/route-boxes/items/1/boxes", json={"boxes": boxes})
    assert done.status_code == 200, done.text
    again = api.call("GET", f"{BASE}/route-boxes/items/1").json()
    assert again["boxes"] == [
        {"class": "4", "xyxy": [1.0, 2.0, 30.0, 40.0], "polygon": None, "score": None},
        {
            "class": "2",
            "xyxy": [5.0, 5.0, 9.0, 9.0],
            "polygon": [[5.0, 5.0], [9.0, 5.0], [7.0, 9.0]],
            "score": None,
        },
    ]
    assert again["review"] == "fixed" and again["by"] == "owner"
    outside = {"boxes": [boxes[0], {"class": "4", "xyxy": [90, 2, 97, 40]}]}
    refused = api.call("PUT", f"{BASE}/route-boxes/items/1/boxes", json=outside)
    assert refused.status_code == 400 and "item 1" in refused.text and "box 1" in refused.text
    assert "out of the image" in refused.text
    unknown = api.call(
        "PUT",
        f"{BASE}/route-boxes/items/1/boxes",
        json={"boxes": [{"class": "x", "xyxy": [1, 1, 2, 2]}]},
    )
    assert unknown.status_code == 400 and "not in project route-boxes's label set" in unknown.text
    for bad in ({"boxes": [{"class": "4", "xyxy": [1, 2]}]}, {"boxes": "x"}, {}):
        assert api.call("PUT", f"{BASE}/route-boxes/items/1/boxes", json=bad).status_code == 422
    assert (
        api.call("PUT", f"{BASE}/route-boxes/items/99/boxes", json={"boxes": []}).status_code == 400
    )
    assert api.call("GET", f"{BASE}/route-boxes/items/99").status_code == 404
    cleared = api.call("PUT", f"{BASE}/route-boxes/items/3/boxes", json={"boxes": None}).json()
    assert cleared["counts"]["labeled"] == 3
    report = api.call("GET", f"{BASE}/route-boxes/agreement?iou=0.3").json()
    assert report["kind"] == "boxes" and report["iou"] == 0.3  # one person: nothing to compare
    assert report["items_with_several"] == 0 and report["disputed"] == []
    for bad in ("0.05", "1", "x"):
        assert api.call("GET", f"{BASE}/route-boxes/agreement?iou={bad}").status_code == 422


def test_coco_export_imports_back_and_class_labels_are_refused(
    api: Api, boxes_project: dict
) -> None:
    exported = api.call("GET", f"{BASE}/route-boxes/export?format=coco")
    assert exported.status_code == 200 and exported.headers["content-type"] == "application/zip"
    before = api.call("GET", f"{BASE}/route-boxes/items?state=labeled").json()["items"]
    api.call("PUT", f"{BASE}/route-boxes/items/0/boxes", json={"boxes": []})
    imported = api.call(
        "POST",
        f"{BASE}/route-boxes/import?format=coco",
        files={"file": ("labels.zip", exported.content, "application/zip")},
    )
    assert imported.status_code == 200, imported.text
    after = api.call("GET", f"{BASE}/route-boxes/items?state=labeled").json()["items"]
    assert [i["boxes"] for i in after] == [i["boxes"] for i in before]
    wrong = api.call(
        "POST", f"{BASE}/route-boxes/labels", json={"items": [{"id": 0, "label": "1"}]}
    )
    assert wrong.status_code == 400 and "labels boxes" in wrong.text
    csv = api.call("GET", f"{BASE}/route-boxes/export?format=csv")
    assert csv.status_code == 400


def test_train_from_boxes_queues_a_detector_and_refuses_what_does_not_fit(
    api: Api, boxes_project: dict, tmp_path_factory: pytest.TempPathFactory
) -> None:
    few = api.call("POST", f"{BASE}/route-boxes/train", json={"epochs": 1})
    assert few.status_code == 400 and "training a detector needs at least 10" in few.text
    from athanor.data.importing import import_dataset

    folder = tmp_path_factory.mktemp("box-train-routes") / "canvases"
    write_digit_canvases(folder, 12)
    import_dataset(folder, name="route-canvases-12", kind="detection", settings=api.settings)
    body = {"name": "route-boxes-12", "dataset": "route-canvases-12", "kind": "detection"}
    assert api.call("POST", BASE, json=body).status_code == 201
    classifier = api.call("POST", f"{BASE}/route-boxes-12/train", json={"template": "lenet"})
    assert classifier.status_code == 400 and "auto or centernet" in classifier.text
    training = api.call("POST", f"{BASE}/route-boxes-12/train", json={"epochs": 1})
    assert training.status_code == 202, training.text
    assert training.json()["model"] == "route-boxes-12-labels"
    assert training.json()["dataset"] == "route-boxes-12@1"
    job = api.call("GET", f"/v1/jobs/{training.json()['job_id']}").json()
    assert job["status"] == "queued"  # these route tests run no scheduler
    assert job["dataset"] == "route-boxes-12@1"
    view = api.call("GET", f"{BASE}/route-boxes-12").json()
    assert view["training"]["status"] == "queued" and view["versions"]
    api.call("POST", f"/v1/jobs/{training.json()['job_id']}/cancel")
