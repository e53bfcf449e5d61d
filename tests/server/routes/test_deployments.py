"""``/v1/deployments``: serving a registered model from the platform, and predicting."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from athanor.errors import (
    Conflict,
    NotFound,
    PayloadTooLarge,
    PredictionInputError,
    UnsupportedMediaType,
)
from athanor.serve.predict_bodies import PredictRequest
from tests.server.routes.conftest import Api

SETOSA = {
    "sepal length (cm)": 5.1,
    "sepal width (cm)": 3.5,
    "petal length (cm)": 1.4,
    "petal width (cm)": 0.2,
}


@pytest.fixture(scope="module")
def deployment(api: Api) -> Iterator[dict]:
    """``routes-iris``: iris-mlp served with the torch runtime, at most 2 samples a request."""
    body = {
        "name": "routes-iris",
        "model": "iris-mlp",
        "config": {"runtime": "torch", "max_request_samples": 2},
    }
    response = api.call("POST", "/v1/deployments", json=body)
    assert response.status_code == 201, response.text
    yield response.json()
    api.client.delete("/v1/deployments/routes-iris")


def test_a_created_deployment_serves_the_model_and_is_listed(api: Api, deployment: dict) -> None:
    assert (deployment["name"], deployment["model"], deployment["status"]) == (
        "routes-iris",
        "iris-mlp",
        "running",
    )
    assert deployment["status_reason"] == "serving iris-mlp@1"
    assert deployment["predict_path"] == "/v1/deployments/routes-iris/predict"
    assert deployment["serving"][0]["ref"] == "iris-mlp@1"
    assert deployment["config"]["max_request_samples"] == 2 and deployment["created_by"] == "owner"
    shown = api.call("GET", "/v1/deployments/routes-iris")
    assert shown.status_code == 200 and shown.json()["serving"] == deployment["serving"]
    listed = api.call("GET", "/v1/deployments").json()
    assert "routes-iris" in [d["name"] for d in listed]


def test_predictions_name_the_version_and_give_a_label_and_probabilities(
    api: Api, deployment: dict
) -> None:
    response = api.call("POST", deployment["predict_path"], json={"inputs": [SETOSA]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == "iris-mlp@1"
    (prediction,) = body["predictions"]
    assert set(prediction["probabilities"]) == {"setosa", "versicolor", "virginica"}
    assert prediction["label"] in prediction["probabilities"]
    assert sum(prediction["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)


def test_bad_inputs_are_answered_with_the_status_of_their_error(api: Api, deployment: dict) -> None:
    path = deployment["predict_path"]
    cases = [
        ({"json": {"inputs": [{**SETOSA, "sepal width (cm)": "wide"}]}}, PredictionInputError),
        ({"json": {"inputs": []}}, PredictionInputError),
        ({"json": {"input": [SETOSA]}}, PredictionInputError),
        ({"content": b"hi", "headers": {"content-type": "text/plain"}}, UnsupportedMediaType),
        ({"json": {"inputs": [SETOSA] * 3}}, PayloadTooLarge),  # max_request_samples: 2
    ]
    for request, error in cases:
        response = api.call("POST", path, **request)
        assert response.status_code == error.http_status, (request, response.text)
        assert response.json()["detail"]
    assert [PredictionInputError.http_status, UnsupportedMediaType.http_status] == [422, 415]
    assert PayloadTooLarge.http_status == 413


def test_the_predict_body_is_the_model_servers_declared_once(api: Api) -> None:
    operation = api.schema["paths"]["/v1/deployments/{name}/predict"]["post"]
    json_body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert json_body == {"$ref": "#/components/schemas/PredictRequest"}
    declared = api.schema["components"]["schemas"]["PredictRequest"]
    assert declared == PredictRequest.model_json_schema()
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer == {"$ref": "#/components/schemas/PredictionsOut"}


def test_what_does_not_exist_is_404(api: Api) -> None:
    for method, path, body in [
        ("GET", "/v1/deployments/nothing", None),
        ("DELETE", "/v1/deployments/nothing", None),
        ("POST", "/v1/deployments/nothing/predict", {"inputs": [SETOSA]}),
        ("POST", "/v1/deployments", {"name": "ghost", "model": "no-such-model"}),
    ]:
        response = api.call(method, path, json=body)
        assert response.status_code == NotFound.http_status == 404, (path, response.text)
    assert "ghost" not in [d["name"] for d in api.call("GET", "/v1/deployments").json()]


def test_a_second_deployment_of_a_name_is_a_409_conflict(api: Api, deployment: dict) -> None:
    response = api.call("POST", "/v1/deployments", json={"name": "routes-iris", "model": "x"})
    assert response.status_code == Conflict.http_status == 409
    assert "a deployment named 'routes-iris' exists" in response.json()["detail"]


def test_invalid_bodies_are_422_naming_the_key(api: Api) -> None:
    for body, key in [
        ({"name": "x"}, "model"),
        ({"name": "a b", "model": "iris-mlp"}, "name"),
        ({"name": "x", "model": "iris-mlp", "config": {"max_batch_size": 0}}, "config"),
        ({"name": "x", "model": "iris-mlp", "replicas": 2}, "replicas"),
    ]:
        response = api.call("POST", "/v1/deployments", json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["detail"][0]["loc"][1] == key


BRIEF = {"name": "brief", "model": "iris-mlp@1", "config": {"runtime": "torch"}}


def test_a_deleted_deployment_stops_answering(api: Api) -> None:
    created = api.call("POST", "/v1/deployments", json=BRIEF)
    assert created.status_code == 201, created.text
    assert api.call("DELETE", "/v1/deployments/brief").status_code == 204
    gone = api.call("POST", "/v1/deployments/brief/predict", json={"inputs": [SETOSA]})
    assert gone.status_code == NotFound.http_status


def test_deployed_generative_models_generate_and_refuse_bad_options(
    api: Api, trained_generators
) -> None:
    from athanor.api import models
    from athanor.registry import register_package
    from athanor.store import open_store

    store = open_store(api.settings)
    for name in ("shakes-char", "digits-gan"):
        register_package(store, name, models.package_dir(name, settings=trained_generators))
    for name in ("routes-char", "routes-gan"):
        model = "shakes-char" if name == "routes-char" else "digits-gan"
        created = api.call("POST", "/v1/deployments", json={"name": name, "model": model})
        assert created.status_code == 201, created.text
    try:
        text = api.call(
            "POST",
            "/v1/deployments/routes-char/generate",
            json={"prompt": "ROMEO:", "length": 30, "seed": 2},
        )
        assert text.status_code == 200, text.text
        assert text.json()["text"].startswith("ROMEO:") and text.json()["tokens"] == 30
        images = api.call("POST", "/v1/deployments/routes-gan/generate", json={"n": 2})
        assert images.status_code == 200 and len(images.json()["images_png"]) == 2
        refused = api.call(
            "POST", "/v1/deployments/routes-char/generate", json={"prompt": "€", "length": 3}
        )
        assert refused.status_code == 422 and "'€'" in refused.json()["detail"]
        out_of_range = api.call("POST", "/v1/deployments/routes-gan/generate", json={"n": 0})
        assert out_of_range.status_code == 422
        predicted = api.call(
            "POST", "/v1/deployments/routes-char/predict", json={"inputs": ["To be"]}
        )
        assert predicted.status_code == 422 and "generate" in predicted.json()["detail"]
        missing = api.call("POST", "/v1/deployments/nope/generate", json={})
        assert missing.status_code == 404
    finally:
        for name in ("routes-char", "routes-gan"):
            api.client.delete(f"/v1/deployments/{name}")


def test_a_deployment_is_stopped_kept_started_again_and_deleted(api: Api) -> None:
    body = {"name": "routes-pause", "model": "iris-mlp", "config": {"runtime": "torch"}}
    assert api.call("POST", "/v1/deployments", json=body).status_code == 201
    stopped = api.call("POST", "/v1/deployments/routes-pause/stop")
    assert stopped.status_code == 200, stopped.text
    assert (stopped.json()["status"], stopped.json()["serving"]) == ("stopped", [])
    assert stopped.json()["status_reason"] == "stopped by owner"
    predicted = api.call("POST", "/v1/deployments/routes-pause/predict", json={"inputs": [SETOSA]})
    assert predicted.status_code == 404 and "is not serving (stopped)" in predicted.text
    started = api.call("POST", "/v1/deployments/routes-pause/start")
    assert started.status_code == 200 and started.json()["status"] == "running"
    assert api.call("POST", started.json()["predict_path"], json={"inputs": [SETOSA]}).is_success
    api.call("POST", "/v1/deployments/routes-pause/stop")
    assert api.call("DELETE", "/v1/deployments/routes-pause").status_code == 204
    assert api.call("GET", "/v1/deployments/routes-pause").status_code == 404
    assert api.call("POST", "/v1/deployments/routes-pause/start").status_code == 404
    trail = api.call("GET", "/v1/audit").json()
    actions = [e["action"] for e in trail if e["object_id"] == "routes-pause"]
    assert {"stop", "start", "deploy"} <= set(actions)


def test_metrics_count_the_requests_errors_and_latency_a_deployment_answered(
    api: Api, deployment: dict
) -> None:
    path = deployment["predict_path"]
    before = api.call("GET", "/v1/deployments/routes-iris/metrics?minutes=5").json()["totals"]
    for _ in range(3):
        assert api.call("POST", path, json={"inputs": [SETOSA]}).status_code == 200
    assert api.call("POST", path, json={"inputs": []}).status_code == 422
    added = api.call("POST", "/v1/users", json={"name": "metrics-viewer", "role": "viewer"})
    viewer = {"Authorization": f"Bearer {added.json()['token']}"}
    response = api.call("GET", "/v1/deployments/routes-iris/metrics?minutes=5", headers=viewer)
    assert response.status_code == 200, response.text
    shown = response.json()
    assert shown["deployment"] == "routes-iris" and shown["minutes"] == 5
    assert len(shown["points"]) == 5  # every minute, the quiet ones with zeros
    totals = shown["totals"]
    assert totals["requests"] - before["requests"] == 4
    assert totals["client_errors"] - before["client_errors"] == 1
    assert totals["errors"] - before["errors"] == 1 and totals["server_errors"] == 0
    assert 0 < totals["p50_ms"] <= totals["p95_ms"] < 10_000
    assert sum(point["requests"] for point in shown["points"]) == totals["requests"]
    assert api.call("GET", "/v1/deployments/routes-iris/metrics").json()["minutes"] == 60


def test_metrics_of_an_unknown_deployment_are_404_and_the_window_is_checked(api: Api) -> None:
    response = api.call("GET", "/v1/deployments/nothing/metrics")
    assert response.status_code == 404 and "nothing" in response.json()["detail"]
    too_long = api.call("GET", "/v1/deployments/nothing/metrics?minutes=100000")
    assert too_long.status_code == 422


def test_a_table_model_describes_a_typical_row_that_predicts(api: Api, deployment: dict) -> None:
    example = deployment["serving"][0]["example"]
    assert set(example) == set(SETOSA)
    assert 4 < example["sepal length (cm)"] < 8  # the training mean, in centimetres
    response = api.call("POST", deployment["predict_path"], json={"inputs": [example]})
    assert response.status_code == 200, response.text
