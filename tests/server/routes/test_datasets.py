"""``/v1/datasets`` and ``/v1/uploads``: the catalog, describing, previewing, uploading and
importing, through the routes' public behaviour."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from athanor.errors import DataError, DatasetNotFound, NotFound, PayloadTooLarge
from tests.server.routes.conftest import MAX_UPLOAD_BYTES, Api

TABLE = "rooms,area,price\n" + "".join(f"{i % 5},{50 + i},{100 + 3 * i}\n" for i in range(40))


@pytest.fixture
def upload(api: Api) -> Iterator[str]:
    """A new upload's path (``/v1/uploads/ID``); deleted afterwards."""
    response = api.call("POST", "/v1/uploads")
    assert response.status_code == 201, response.text
    assert response.json()["files"] == [] and response.json()["size"] == 0
    path = f"/v1/uploads/{response.json()['id']}"
    yield path
    api.client.delete(path)


def test_the_catalog_lists_the_built_in_datasets(api: Api) -> None:
    response = api.call("GET", "/v1/datasets/catalog")
    assert response.status_code == 200, response.text
    entries = {entry["name"]: entry for entry in response.json()}
    assert (entries["iris"]["task"], entries["iris"]["kind"]) == ("classification", "tabular")
    assert entries["digits"]["kind"] == "image" and entries["digits"]["description"]


def test_a_catalog_dataset_is_described_previewed_and_summarised(api: Api) -> None:
    shown = api.call("GET", "/v1/datasets/iris")
    assert shown.status_code == 200, shown.text
    assert shown.json()["catalog"]["name"] == "iris"
    preview = api.call("GET", "/v1/datasets/digits/preview", params={"rows": 2})
    assert preview.status_code == 200, preview.text
    images = preview.json()
    assert images["kind"] == "image" and len(images["labels"]) == 2
    assert [len(images["images"][0]), len(images["images"][0][0])] == [1, 8]  # [C, H, W]
    stats = api.call("GET", "/v1/datasets/iris/stats")
    assert stats.status_code == 200 and stats.json()
    assert api.call("GET", "/v1/datasets/iris/versions").json() == []  # never imported


def test_an_uploaded_table_imports_as_a_dataset_version(api: Api, upload: str) -> None:
    written = api.call("PUT", f"{upload}/files/tables/houses.csv", content=TABLE.encode())
    assert written.status_code == 200, written.text
    assert written.json() == {"path": "tables/houses.csv", "size": len(TABLE)}
    assert api.call("GET", upload).json()["files"] == [written.json()]
    body = {
        "upload": upload.rsplit("/", 1)[1],
        "path": "tables/houses.csv",
        "name": "routes-houses",
        "target": "price",
    }
    imported = api.call("POST", "/v1/datasets", json=body)
    assert imported.status_code == 201, imported.text
    version = imported.json()
    assert (version["name"], version["number"], version["rows"]) == ("routes-houses", 1, 40)
    assert (version["kind"], version["task"], version["reused"]) == ("tabular", "regression", False)
    listed = {d["name"]: d for d in api.call("GET", "/v1/datasets").json()}
    assert listed["routes-houses"]["latest"]["ref"] == version["ref"]
    versions = api.call("GET", "/v1/datasets/routes-houses/versions").json()
    assert [v["ref"] for v in versions] == [version["ref"]]
    again = api.call("POST", "/v1/datasets", json=body).json()
    assert again["reused"] is True and again["ref"] == version["ref"]  # same content
    assert api.call("DELETE", upload).status_code == 204
    assert api.call("GET", upload).status_code == NotFound.http_status


def test_an_uploaded_yolo_folder_imports_as_detection_and_previews_as_png(
    api: Api, upload: str
) -> None:
    import io

    from PIL import Image

    picture = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 90, 90)).save(picture, format="PNG")
    files = {
        "data.yaml": b"train: images/train\nnames: [cat, dog]\n",
        "images/train/a.png": picture.getvalue(),
        "labels/train/a.txt": b"1 0.5 0.5 0.5 0.5\n0 0.25 0.25 0.25 0.25\n",
    }
    for path, content in files.items():
        assert api.call("PUT", f"{upload}/files/{path}", content=content).status_code == 200
    body = {"upload": upload.rsplit("/", 1)[1], "name": "routes-pets", "kind": "detection"}
    imported = api.call("POST", "/v1/datasets", json=body)
    assert imported.status_code == 201, imported.text
    assert (imported.json()["kind"], imported.json()["rows"]) == ("detection", 1)
    shown = api.call("GET", "/v1/datasets/routes-pets").json()
    assert shown["classes"] == ["cat", "dog"] and shown["splits"]["train"]["boxes"] == 2
    png = api.call("GET", "/v1/datasets/routes-pets/preview.png", params={"count": 4})
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(png.content)) as grid:
        assert grid.size == (256, 256)  # one image, one cell
    not_boxes = api.call("GET", "/v1/datasets/iris/preview.png")
    assert not_boxes.status_code == 400 and "not a detection one" in not_boxes.json()["detail"]
    missing = api.call("GET", "/v1/datasets/nothing/preview.png")
    assert missing.status_code == 404
    bad = {**body, "format": "kitti"}
    assert api.call("POST", "/v1/datasets", json=bad).status_code == 422


def test_what_does_not_exist_is_404(api: Api) -> None:
    for path in ("/v1/datasets/nothing", "/v1/datasets/nothing/versions"):
        response = api.call("GET", path)
        assert response.status_code == DatasetNotFound.http_status == 404, response.text
        assert "nothing" in response.json()["detail"]
    missing_upload = "/v1/uploads/" + "0" * 32
    assert api.call("GET", missing_upload).status_code == NotFound.http_status
    assert api.call("DELETE", missing_upload).status_code == NotFound.http_status


def test_data_that_cannot_be_imported_is_400_naming_the_column(api: Api, upload: str) -> None:
    api.call("PUT", f"{upload}/files/houses.csv", content=TABLE.encode())
    body = {"upload": upload.rsplit("/", 1)[1], "path": "houses.csv", "name": "routes-bad"}
    response = api.call("POST", "/v1/datasets", json={**body, "target": "cost"})
    assert response.status_code == DataError.http_status == 400, response.text
    assert "cost" in response.json()["detail"]
    unnamed = api.call("POST", "/v1/datasets", json=body)  # no target: the columns to pick from
    assert unnamed.status_code == 400, unnamed.text
    assert "which column should the model predict?" in unnamed.json()["detail"]
    assert [c["name"] for c in unnamed.json()["columns"]] == TABLE.splitlines()[0].split(",")


def test_malformed_requests_are_422_or_400(api: Api, upload: str) -> None:
    response = api.call("POST", "/v1/datasets", json={"upload": "xyz", "name": "x"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == [
        "body",
        "upload",
    ]
    assert api.call("GET", "/v1/datasets/iris/preview", params={"rows": 0}).status_code == 422
    escape = api.call("PUT", f"{upload}/files/%2E%2E/evil.csv", content=b"a\n")
    assert escape.status_code in (400, 422), escape.text


def test_an_upload_over_its_limit_is_413(api: Api, upload: str) -> None:
    half = b"z" * (MAX_UPLOAD_BYTES // 2 + 1)
    assert api.call("PUT", f"{upload}/files/a.bin", content=half).status_code == 200
    response = api.call("PUT", f"{upload}/files/b.bin", content=half)
    assert response.status_code == PayloadTooLarge.http_status == 413
    assert f"would hold more than {MAX_UPLOAD_BYTES:,} bytes" in response.json()["detail"]


def test_a_dataset_version_says_what_depends_on_it_and_is_deleted_unless_a_job_uses_it(
    api: Api, tmp_path
) -> None:
    import athanor as at
    from athanor.store import RunStatus, open_store

    store = open_store(api.settings)
    table = tmp_path / "houses.csv"
    table.write_text(TABLE + "4,98,998\n")  # content no other test imports: a folder of its own
    first = at.datasets.import_dataset(
        table, name="routes-gone", target="price", settings=api.settings
    )
    table.write_text(TABLE + "4,98,998\n1,99,999\n")
    second = at.datasets.import_dataset(
        table, name="routes-gone", target="price", settings=api.settings
    )
    trained = store.runs.create({}, name="on-v1", dataset="routes-gone@1", status=RunStatus.QUEUED)
    store.runs.finish(trained.id, RunStatus.SUCCEEDED, "trained")
    store.models.add_version(
        "routes-gone-model", version=1, path="models/none", content_hash="0" * 64, run_id=trained.id
    )
    queued = store.runs.create({}, name="busy", dataset="routes-gone", status=RunStatus.QUEUED)
    try:
        found = api.call("GET", "/v1/datasets/routes-gone/versions/1/dependents").json()
        assert found == {
            "versions": [first.version.ref],
            "active_jobs": [],
            "projects": [],
            "model_versions": ["routes-gone-model@1"],
            "runs": 1,
        }
        # "routes-gone" without a version means the newest, v2: the queued job holds it.
        refused = api.call("DELETE", "/v1/datasets/routes-gone/versions/2")
        assert refused.status_code == 409, refused.text
        assert f"#{queued.id} busy (queued)" in refused.json()["detail"]
        assert api.call("DELETE", "/v1/datasets/routes-gone/versions").status_code == 409

        folder = store.artifacts.resolve(first.version.path)
        assert api.call("DELETE", "/v1/datasets/routes-gone/versions/1").status_code == 204
        assert not folder.exists()
        versions = api.call("GET", "/v1/datasets/routes-gone/versions").json()
        assert [v["number"] for v in versions] == [2]
        assert api.call("DELETE", "/v1/datasets/routes-gone/versions/1").status_code == 404
    finally:
        store.runs.finish(queued.id, RunStatus.CANCELLED, "test over")
        store.models.delete_version("routes-gone-model", 1)
    assert api.call("DELETE", "/v1/datasets/routes-gone/versions").status_code == 204
    assert not store.artifacts.resolve(second.version.path).exists()
    assert api.call("GET", "/v1/datasets/routes-gone/versions").status_code == 404
    trail = api.call("GET", "/v1/audit").json()
    assert any(e["action"] == "delete" and e["object_id"] == "routes-gone@1" for e in trail)
    assert any(e["action"] == "delete" and e["object_id"] == "routes-gone" for e in trail)
