"""``/v1/models``: registered models, versions, summaries, exports and aliases."""

from __future__ import annotations

import io
import zipfile

import pytest

from athanor.errors import NotFound, PayloadTooLarge, UserError
from tests.server.routes.conftest import Api

VERSION_FIELDS = {"name", "version", "ref", "run_id", "content_hash", "metrics"}


def test_models_and_versions_are_listed(api: Api) -> None:
    response = api.call("GET", "/v1/models")
    assert response.status_code == 200, response.text
    assert {"name": "iris-mlp", "versions": 1, "latest": 1}.items() <= next(
        m for m in response.json() if m["name"] == "iris-mlp"
    ).items()
    (version,) = api.call("GET", "/v1/models/iris-mlp/versions").json()
    assert set(version) >= VERSION_FIELDS
    assert (version["ref"], version["run_id"]) == ("iris-mlp@1", api.run_id)


def test_a_version_shows_its_spec_schema_lineage_and_network(api: Api) -> None:
    response = api.call("GET", "/v1/models/iris-mlp@1")
    assert response.status_code == 200, response.text
    model = response.json()
    assert VERSION_FIELDS | {"spec", "lineage"} <= set(model)
    assert model["lineage"]["run_id"] == api.run_id and model["spec"]["model"]["template"] == "mlp"
    summary = api.call("GET", "/v1/models/iris-mlp/summary").json()
    assert summary["input_shape"][-1] == 4 and summary["totals"]["parameters"] > 0
    assert summary["layers"][-1]["output_shape"][-1] == 3  # the three species


def test_a_version_downloads_as_a_zip_package(api: Api) -> None:
    response = api.call("GET", "/v1/models/iris-mlp@1/export")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/octet-stream"
    assert 'filename="iris-mlp-v1.zip"' in response.headers["content-disposition"]
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert any(name.endswith(".safetensors") for name in names), names


def test_a_version_downloads_as_an_int8_graph_or_is_refused_naming_both_scores(
    api: Api,
) -> None:
    import onnx

    path = "/v1/models/iris-mlp@1/export?format=onnx&quantize=int8"
    response = api.call("GET", f"{path}&max_drop=1")
    assert response.status_code == 200, response.text
    assert 'filename="iris-mlp-v1.int8.onnx"' in response.headers["content-disposition"]
    graph = onnx.load_from_string(response.content)
    assert "DynamicQuantizeLinear" in {node.op_type for node in graph.graph.node}
    refused = api.call("GET", f"{path}&max_drop=-1")
    assert refused.status_code == 400
    assert refused.json()["code"] == "export_failed"
    assert "accuracy points" in refused.json()["detail"]
    assert "--max-drop -1" in refused.json()["detail"]
    assert api.call("GET", "/v1/models/iris-mlp@1/export?quantize=int8").status_code == 400


def test_a_versions_int8_graph_is_registered_with_its_measurement(api: Api) -> None:
    refused = api.call(
        "POST", "/v1/models/iris-mlp@1/quantized", json={"name": "iris-int8", "max_drop": -1}
    )
    assert refused.status_code == 400 and "nothing was written" in refused.json()["detail"]
    assert api.call("GET", "/v1/models/iris-int8/versions").status_code == 404
    created = api.call(
        "POST", "/v1/models/iris-mlp@1/quantized", json={"name": "iris-int8", "max_drop": 1}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["ref"] == "iris-int8@1" and body["quantization"]["method"] == "dynamic"
    assert body["metrics"]["test_accuracy"] == body["quantization"]["int8"]
    shown = api.call("GET", "/v1/models/iris-int8@1").json()
    assert shown["lineage"]["quantized_from"]["ref"] == "iris-mlp@1"

    # A platform deployment serves it through the same routes, on ONNX Runtime.
    setosa = {
        "sepal length (cm)": 5.1,
        "sepal width (cm)": 3.5,
        "petal length (cm)": 1.4,
        "petal width (cm)": 0.2,
    }
    deployed = api.call("POST", "/v1/deployments", json={"name": "int8", "model": "iris-int8@1"})
    assert deployed.status_code == 201, deployed.text
    try:
        assert deployed.json()["serving"][0]["runtime"] == "onnxruntime"
        answer = api.call("POST", "/v1/deployments/int8/predict", json={"inputs": [setosa]})
        assert answer.status_code == 200, answer.text
        assert answer.json()["model"] == "iris-int8@1"
        (prediction,) = answer.json()["predictions"]
        assert sum(prediction["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    finally:
        api.call("DELETE", "/v1/deployments/int8")
    api.call("DELETE", "/v1/models/iris-int8/versions/1")


def test_registering_a_runs_model_again_makes_the_next_version(api: Api) -> None:
    response = api.call("POST", "/v1/models", json={"name": "iris-copy", "run_id": api.run_id})
    assert response.status_code == 201, response.text
    assert {k: response.json()[k] for k in ("ref", "run_id")} == {
        "ref": "iris-copy@1",
        "run_id": api.run_id,
    }


def test_aliases_are_set_followed_and_removed(api: Api) -> None:
    path = "/v1/models/iris-mlp/aliases/production"
    response = api.call("PUT", path, json={"version": 1})
    assert response.status_code == 200, response.text
    assert response.json()["ref"] == "iris-mlp@1"
    assert api.call("GET", "/v1/models/iris-mlp@production").json()["version"] == 1
    assert api.call("DELETE", path).status_code == 204
    gone = api.call("GET", "/v1/models/iris-mlp@production")
    assert gone.status_code == NotFound.http_status


def test_what_does_not_exist_is_404_naming_it(api: Api) -> None:
    cases = [
        ("GET", "/v1/models/nothing", None, "nothing"),
        ("GET", "/v1/models/nothing/versions", None, "no model named 'nothing'"),
        ("GET", "/v1/models/iris-mlp@7", None, "iris-mlp"),
        ("GET", "/v1/models/nothing/summary", None, "nothing"),
        ("GET", "/v1/models/nothing/export", None, "nothing"),
        ("POST", "/v1/models", {"name": "x", "run_id": 987654}, "run 987654 does not exist"),
        ("PUT", "/v1/models/iris-mlp/aliases/staging", {"version": 7}, "iris-mlp"),
        ("DELETE", "/v1/models/iris-mlp/aliases/staging", None, "staging"),
    ]
    for method, path, body, message in cases:
        response = api.call(method, path, json=body)
        assert response.status_code == NotFound.http_status == 404, (path, response.text)
        assert message in response.json()["detail"], (path, response.text)


def test_invalid_requests_are_400_or_422_naming_the_problem(api: Api) -> None:
    reserved = api.call("PUT", "/v1/models/iris-mlp/aliases/latest", json={"version": 1})
    assert reserved.status_code == UserError.http_status == 400
    assert "alias 'latest' is invalid" in reserved.json()["detail"]
    for body in ({"name": "x"}, {"name": "bad name", "run_id": 1}, {"name": "x", "run_id": 0}):
        response = api.call("POST", "/v1/models", json=body)
        assert response.status_code == 422, (body, response.text)
    unknown_key = api.call("PUT", "/v1/models/iris-mlp/aliases/staging", json={"versio": 1})
    assert unknown_key.status_code == 422
    assert api.call("GET", "/v1/models/iris-mlp@1/export?format=pickle").status_code == 422


def test_a_body_over_the_platforms_limit_is_413(api: Api) -> None:
    padding = "x" * (1 << 20)  # the platform's default limit is 1 MiB
    for method, path in [("POST", "/v1/models"), ("PUT", "/v1/models/iris-mlp/aliases/big")]:
        response = api.call(method, path, json={"name": padding, "run_id": 1})
        assert response.status_code == PayloadTooLarge.http_status == 413, path
        assert "limit of 1,048,576 bytes" in response.json()["detail"]


def test_a_version_is_deleted_unless_served_and_only_with_force_when_an_alias_points_at_it(
    api: Api,
) -> None:
    registered = api.call("POST", "/v1/models", json={"name": "iris-gone", "run_id": api.run_id})
    assert registered.status_code == 201, registered.text
    path = "/v1/models/iris-gone/versions/1"
    body = {"name": "gone-soon", "model": "iris-gone", "config": {"runtime": "torch"}}
    assert api.call("POST", "/v1/deployments", json=body).status_code == 201
    served = api.call("DELETE", path)
    assert served.status_code == 409, served.text
    assert "'gone-soon' serves iris-gone@1" in served.json()["detail"]
    assert api.call("DELETE", "/v1/deployments/gone-soon").status_code == 204

    assert api.call("PUT", "/v1/models/iris-gone/aliases/live", json={"version": 1}).is_success
    pointed = api.call("DELETE", path)
    assert pointed.status_code == UserError.http_status, pointed.text
    assert "live -> iris-gone@1" in pointed.json()["detail"]
    deleted = api.call("DELETE", path, params={"force": True})
    assert deleted.status_code == 200, deleted.text
    assert [version["ref"] for version in deleted.json()] == ["iris-gone@1"]
    assert api.call("GET", "/v1/models/iris-gone@1").status_code == NotFound.http_status
    trail = api.call("GET", "/v1/audit").json()
    assert any(e["action"] == "delete" and e["object_id"] == "iris-gone@1" for e in trail)


def test_a_version_scoring_worse_than_an_aliased_one_is_registered_with_a_warning(
    api: Api,
) -> None:
    from athanor.store import open_store

    store = open_store(api.settings)
    first = api.call("POST", "/v1/models", json={"name": "iris-judged", "run_id": api.run_id})
    assert first.status_code == 201 and first.json()["warnings"] == []
    metrics = first.json()["metrics"]
    assert "test_accuracy" in metrics
    # The aliased version scores better: the same package, recorded with a higher accuracy.
    better = {**metrics, "test_accuracy": metrics["test_accuracy"] + 0.5}
    store.models.add_version(
        "iris-judged",
        version=store.models.next_version("iris-judged"),
        path=store.models.get("iris-judged", 1).path,
        content_hash=first.json()["content_hash"],
        metrics=better,
    )
    assert api.call(
        "PUT", "/v1/models/iris-judged/aliases/production", json={"version": 2}
    ).is_success
    third = api.call("POST", "/v1/models", json={"name": "iris-judged", "run_id": api.run_id})
    assert third.status_code == 201, third.text
    [warning] = third.json()["warnings"]
    assert (warning["alias"], warning["alias_ref"], warning["metric"]) == (
        "production",
        "iris-judged@2",
        "test_accuracy",
    )
    assert warning["higher_is_better"] is True and warning["value"] < warning["alias_value"]
    assert warning["message"].startswith("iris-judged@3 scores test_accuracy")
    shown = api.call("GET", "/v1/models/iris-judged@3").json()
    assert [w["alias"] for w in shown["warnings"]] == ["production"]
    assert api.call("GET", "/v1/models/iris-judged@2").json()["warnings"] == []
    api.call("DELETE", "/v1/models/iris-judged/versions/2", params={"force": True})
