"""``/v1/label/projects``: projects, items, thumbnails, labels by two people, review,
accepting, publishing, agreement, formats, training, and 4xx for bad input."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from athanor.store import open_store
from tests.label.conftest import write_mnist_pngs
from tests.server.routes.conftest import Api

BASE = "/v1/label/projects"


@pytest.fixture(scope="module")
def project(api: Api, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """40 digits (10 labeled) imported into the platform's store, and a project on them."""
    from athanor.data.importing import import_dataset

    folder = tmp_path_factory.mktemp("label-routes") / "digits"
    labels = write_mnist_pngs(folder, 40, labeled=10)
    import_dataset(folder, name="route-digits", settings=api.settings)
    body = {
        "name": "route-digits-work",
        "dataset": "route-digits",
        "kind": "image",
        "labels": [{"name": str(d), "color": "#00aa00"} for d in range(10)],
        "instructions": "the digit, 0-9",
    }
    response = api.call("POST", BASE, json=body)
    assert response.status_code == 201, response.text
    return {"view": response.json(), "labels": labels}


def test_a_project_is_created_listed_shown_and_changed(api: Api, project: dict) -> None:
    view = project["view"]
    assert view["counts"]["total"] == 40 and view["counts"]["labeled"] == 10
    assert view["labels"][0] == {"name": "0", "color": "#00aa00", "hotkey": "1"}
    assert view["training"] is None and view["versions"] == []
    listed = api.call("GET", BASE).json()
    assert "route-digits-work" in [p["name"] for p in listed]
    patched = api.call("PATCH", f"{BASE}/route-digits-work", json={"instructions": "look"})
    assert patched.status_code == 200 and patched.json()["instructions"] == "look"
    assert (
        api.call(
            "POST", BASE, json={"name": "route-digits-work", "dataset": "route-digits"}
        ).status_code
        == 409
    )


def test_items_page_thumbnails_labels_review_and_agreement(api: Api, project: dict) -> None:
    labels = project["labels"]
    page = api.call("GET", f"{BASE}/route-digits-work/items?state=unlabeled&limit=5").json()
    assert page["total"] == 30 and len(page["items"]) == 5 and page["items"][0]["label"] is None
    first = page["items"][0]["id"]
    image = api.call("GET", f"{BASE}/route-digits-work/items/{first}/image?size=14")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(image.content)).size == (14, 14)
    body = {"items": [{"id": first, "label": str(labels[first])}]}
    done = api.call("POST", f"{BASE}/route-digits-work/labels", json=body)
    assert done.status_code == 200 and done.json()["counts"]["labeled"] == 11
    labeled = api.call("GET", f"{BASE}/route-digits-work/items?state=labeled&offset=10").json()
    assert labeled["items"][0]["by"] == "owner" and labeled["items"][0]["source"] == "person"
    _user, _token, secret = open_store(api.settings).users.add("bob", "editor", actor="owner")
    other = {"Authorization": f"Bearer {secret}"}
    wrong = {"items": [{"id": first, "label": str((labels[first] + 1) % 10)}]}
    assert (
        api.client.post(f"{BASE}/route-digits-work/labels", json=wrong, headers=other).status_code
        == 200
    )
    report = api.call("GET", f"{BASE}/route-digits-work/agreement").json()
    assert report["items_with_several"] == 1 and report["agreement"] == 0.0
    assert report["pairs"][0]["a"] == "bob" and report["pairs"][0]["b"] == "owner"
    same = {"items": [{"id": float(first), "label": str(labels[first])}] * 3}  # 3.0 is an id
    assert api.call("POST", f"{BASE}/route-digits-work/labels", json=same).status_code == 200
    reviewed = api.call(
        "POST",
        f"{BASE}/route-digits-work/review",
        json={"items": [{"id": first, "review": "fixed", "label": str(labels[first])}]},
    )
    assert reviewed.status_code == 200
    item = api.call("GET", f"{BASE}/route-digits-work/items?state=labeled&offset=10").json()
    assert item["items"][0]["review"] == "fixed"
    rejected = api.call(
        "POST",
        f"{BASE}/route-digits-work/review",
        json={"items": [{"id": first + 1, "review": "rejected"}]},
    )
    assert rejected.json()["counts"]["rejected"] == 1


def test_bad_input_is_a_4xx_naming_the_problem(api: Api, project: dict) -> None:
    name = f"{BASE}/route-digits-work"
    cases = [
        ("GET", f"{BASE}/nothing", None, 404),
        ("GET", f"{name}/items?limit=501", None, 422),
        ("GET", f"{name}/items?state=done", None, 422),
        ("GET", f"{name}/items?label=cat", None, 400),
        ("GET", f"{name}/items/999/image", None, 404),
        ("POST", f"{name}/labels", {"items": [{"id": 0, "label": "cat"}]}, 400),
        ("POST", f"{name}/labels", {"items": [{"id": 999, "label": "1"}]}, 400),
        ("POST", f"{name}/labels", {"items": []}, 422),
        ("POST", f"{name}/labels", {"items": [{"id": True, "label": "1"}]}, 422),
        ("POST", f"{name}/accept", {"ids": [2**40]}, 422),
        ("POST", f"{name}/accept", {}, 400),
        ("POST", f"{name}/accept", {"min_confidence": 2}, 422),
        ("POST", f"{name}/review", {"items": [{"id": 0, "review": "fixed"}]}, 400),
        ("POST", f"{name}/prelabel", {"model": "no-such-model"}, 404),
        ("POST", f"{name}/prelabel", {"model": "iris-mlp"}, 400),
        ("POST", f"{name}/train", {"template": "no-such-template"}, 400),
        ("GET", f"{name}/export?format=xml", None, 422),
        ("GET", f"{name}/export?format=coco", None, 400),  # a box format: box projects only
        ("POST", BASE, {"name": "x", "dataset": "iris"}, 400),
        ("POST", BASE, {"name": "x", "dataset": "nowhere"}, 404),
        ("POST", BASE, {"name": "bad name", "dataset": "route-digits"}, 422),
        (
            "POST",
            BASE,
            {"name": "x", "dataset": "route-digits", "labels": [{"name": "a", "hotkey": "!"}]},
            422,
        ),
    ]
    for method, path, body, status in cases:
        response = api.call(method, path, json=body)
        assert response.status_code == status, (method, path, response.text)
        assert response.json()["detail"], (method, path)
    bad_file = api.call(
        "POST", f"{name}/import?format=csv", files={"file": ("l.csv", b"name,x\n", "text/csv")}
    )
    assert (
        bad_file.status_code == 400 and "header must be 'file,label'" in bad_file.json()["detail"]
    )


def test_export_import_publish_and_train(api: Api, project: dict) -> None:
    name = f"{BASE}/route-digits-work"
    exported = api.call("GET", f"{name}/export?format=csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    tasks = api.call("GET", f"{name}/export?format=labelstudio").json()
    assert len(tasks) == 40
    archive = zipfile.ZipFile(io.BytesIO(api.call("GET", f"{name}/export?format=folders").content))
    assert len(archive.namelist()) == 40
    imported = api.call(
        "POST",
        f"{name}/import?format=labelstudio",
        files={"file": ("tasks.json", json.dumps(tasks).encode(), "application/json")},
    )
    assert imported.status_code == 200, imported.text
    published = api.call("POST", f"{name}/publish", json={})
    assert published.status_code == 200, published.text
    assert published.json()["dataset"] == "route-digits-work@1"
    training = api.call("POST", f"{name}/train", json={"template": "auto", "epochs": 1})
    assert training.status_code == 202, training.text
    job_id = training.json()["job_id"]
    assert training.json()["model"] == "route-digits-work-labels"
    job = api.call("GET", f"/v1/jobs/{job_id}").json()
    assert job["status"] == "queued"  # these route tests run no scheduler
    view = api.call("GET", name).json()
    assert view["training"]["job_id"] == job_id and view["training"]["status"] == "queued"
    assert view["versions"][0]["dataset"] == "route-digits-work@1"
    api.call("POST", f"/v1/jobs/{job_id}/cancel")


def test_text_projects_serve_no_images(api: Api, tmp_path: Path) -> None:
    from athanor.data.importing import import_dataset
    from tests.label.conftest import write_texts

    import_dataset(
        write_texts(tmp_path / "reviews"),
        name="route-reviews",
        kind="documents",
        settings=api.settings,
    )
    created = api.call("POST", BASE, json={"name": "route-moods", "dataset": "route-reviews"})
    assert created.status_code == 201 and created.json()["kind"] == "text"
    items = api.call("GET", f"{BASE}/route-moods/items?state=unlabeled").json()
    assert items["items"][0]["text"].startswith("Funny")
    assert api.call("GET", f"{BASE}/route-moods/items/0/image").status_code == 400
