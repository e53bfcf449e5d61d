"""Error bodies beside their English ``detail``: a stable ``code``, the ``params`` the
message names and the ``field`` it concerns, as the console reads them to show a translated
text at the form field."""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image

from athanor.errors import NotFound, UserError
from tests.server.routes.conftest import MAX_UPLOAD_BYTES, Api


@pytest.fixture
def upload(api: Api) -> Iterator[str]:
    """A new upload's path (``/v1/uploads/ID``); deleted afterwards."""
    response = api.call("POST", "/v1/uploads")
    assert response.status_code == 201, response.text
    path = f"/v1/uploads/{response.json()['id']}"
    yield path
    api.client.delete(path)


def png(value: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((8, 8), value, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_an_unknown_dataset_is_404_dataset_not_found_with_its_name_and_the_closest(
    api: Api,
) -> None:
    answer = api.call("GET", "/v1/datasets/irsi")
    assert answer.status_code == 404
    body = answer.json()
    assert body["code"] == "dataset_not_found" and "unknown dataset 'irsi'" in body["detail"]
    assert body["params"] == {"name": "irsi", "suggestion": "iris"}


def test_a_served_model_version_is_409_conflict_in_use_naming_the_deployment(api: Api) -> None:
    registered = api.call("POST", "/v1/models", json={"name": "iris-used", "run_id": api.run_id})
    assert registered.status_code == 201, registered.text
    body = {"name": "uses-iris", "model": "iris-used", "config": {"runtime": "torch"}}
    assert api.call("POST", "/v1/deployments", json=body).status_code == 201
    try:
        refused = api.call("DELETE", "/v1/models/iris-used/versions/1")
        assert refused.status_code == 409, refused.text
        answer = refused.json()
        assert answer["code"] == "conflict_in_use" and answer["field"] is None
        assert answer["params"] == {"name": "iris-used@1", "users": ["uses-iris"]}
        taken = api.call("POST", "/v1/deployments", json=body)
        assert taken.status_code == 409
        assert (taken.json()["code"], taken.json()["field"]) == ("name_taken", "name")
    finally:
        api.client.delete("/v1/deployments/uses-iris")


def test_an_upload_over_its_limit_is_413_upload_too_large_at_the_file(
    api: Api, upload: str
) -> None:
    half = b"z" * (MAX_UPLOAD_BYTES // 2 + 1)
    assert api.call("PUT", f"{upload}/files/a.bin", content=half).status_code == 200
    answer = api.call("PUT", f"{upload}/files/b.bin", content=half)
    assert answer.status_code == 413
    assert answer.json()["code"] == "upload_too_large"
    assert answer.json()["params"] == {"file": "b.bin", "limit": MAX_UPLOAD_BYTES}
    assert answer.json()["field"] == "path"


def test_a_request_off_the_schema_is_422_invalid_request_with_each_problems_field(
    api: Api,
) -> None:
    body = {"name": "no spaces allowed", "model": "iris-mlp", "config": {"runtime": "torch"}}
    answer = api.call("POST", "/v1/deployments", json=body)
    assert answer.status_code == 422
    refusal = answer.json()
    assert refusal["code"] == "invalid_request" and refusal["field"] == "name"
    assert refusal["detail"][0]["loc"] == ["body", "name"]  # FastAPI's list, as before
    assert refusal["detail"][0]["field"] == "name" and refusal["params"]["problems"] == 1
    path = api.call("GET", "/v1/jobs/x").json()
    assert (path["code"], path["field"]) == ("invalid_request", "job_id")


def test_a_spec_mistake_names_its_key_path_as_field_and_its_line(api: Api) -> None:
    text = "data: iris\nmodel:\n  template: mlp\n  hiden: [3]\n"
    answer = api.call("POST", "/v1/jobs", json={"spec": text, "filename": "my.yaml"})
    assert answer.status_code == 400
    refusal = answer.json()
    assert refusal["detail"].startswith("my.yaml:4: model.hiden: unknown key")
    assert (refusal["code"], refusal["field"]) == ("spec_invalid", "model.hiden")
    assert refusal["params"]["line"] == 4 and refusal["params"]["key"] == "model.hiden"
    checked = api.call("POST", "/v1/specs/check", json={"spec": text}).json()
    assert checked["valid"] is False and checked["error"]["field"] == "model.hiden"


def test_an_unreadable_file_of_an_upload_is_named_by_its_place_in_the_upload(
    api: Api, upload: str
) -> None:
    for path, content in [
        ("cat/1.png", png(10)),
        ("cat/2.png", b"not a png"),
        ("dog/1.png", png(200)),
    ]:
        assert api.call("PUT", f"{upload}/files/{path}", content=content).status_code == 200
    body = {"upload": upload.rsplit("/", 1)[1], "name": "bad-pets", "kind": "images"}
    answer = api.call("POST", "/v1/datasets", json=body)
    assert answer.status_code == 400, answer.text
    refusal = answer.json()
    assert "--skip-bad" in refusal["detail"]  # the CLI's wording stays in the message
    assert (refusal["code"], refusal["field"]) == ("file_unreadable", "path")
    assert refusal["params"]["file"] == "cat/2.png"  # not the server's folder
    skipped = api.call("POST", "/v1/datasets", json={**body, "skip_bad": True})
    assert skipped.status_code == 201, skipped.text


def test_the_python_client_raises_the_answers_code_params_and_field(api: Api) -> None:
    from athanor.server.client import PlatformClient

    token = api.client.headers["Authorization"].removeprefix("Bearer ")
    client = PlatformClient(str(api.client.base_url), token=token)
    with pytest.raises(NotFound, match="job 999 does not exist") as raised:
        client.call("get_job", job_id=999)
    assert (raised.value.code, raised.value.params) == ("job_not_found", {"id": 999})
    with pytest.raises(UserError) as raised:
        client.submit_job("data: iris\nmodel:\n  template: mlp\n  hiden: [3]\n")
    assert (raised.value.code, raised.value.field) == ("spec_invalid", "model.hiden")
