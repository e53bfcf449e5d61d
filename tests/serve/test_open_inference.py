"""The Open Inference Protocol on a real server, called by the real ``tritonclient[http]``.

The client is used as published: binary tensor data by default, JSON with
``binary_data=False``. Every answer is compared with the native route's on the same server.
"""

from __future__ import annotations

import json
import struct

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from athanor.data.prepare import load_raw
from athanor.serve.app import create_app
from athanor.spec.serving import ServingSpec
from tests.conftest import housing_rows
from tests.serve.conftest import running


@pytest.fixture(scope="module")
def iris_server(trained_iris):
    _run, settings = trained_iris
    config = ServingSpec(max_body_mb=0.05, max_request_samples=64)
    with running(create_app("iris-mlp", config=config, settings=settings)) as client:
        yield client, triton.InferenceServerClient(f"127.0.0.1:{client.base_url.port}")


@pytest.fixture(scope="module")
def iris_x() -> np.ndarray:
    return load_raw("iris").x[::10].astype(np.float32)  # 15 flowers of the three species


def native(client: httpx.Client, name: str, inputs: list) -> list[dict]:
    answer = client.post(f"/v1/models/{name}/predict", json={"inputs": inputs})
    assert answer.status_code == 200, answer.text
    return answer.json()["predictions"]


def test_health_server_and_model_metadata(iris_server) -> None:
    _client, oip = iris_server
    assert oip.is_server_live()
    assert oip.is_server_ready()
    assert oip.get_server_metadata()["extensions"] == ["binary_tensor_data", "classification"]
    assert oip.is_model_ready("iris-mlp")
    assert oip.is_model_ready("iris-mlp", "1")
    assert not oip.is_model_ready("iris-mlp", "2")
    assert not oip.is_model_ready("roses")
    metadata = oip.get_model_metadata("iris-mlp")
    assert metadata["versions"] == ["1"]
    assert metadata["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 4]}]
    assert metadata["outputs"] == [
        {"name": "probabilities", "datatype": "FP32", "shape": [-1, 3]},
        {"name": "label", "datatype": "BYTES", "shape": [-1, 1]},
    ]
    assert oip.get_model_metadata("iris-mlp", "1") == metadata
    with pytest.raises(InferenceServerException) as missing:
        oip.get_model_metadata("roses")
    assert missing.value.status() == "404"
    assert "model 'roses' is not served here; served: iris-mlp" in missing.value.message()


def test_infer_with_binary_data_and_with_json_equals_the_native_route(
    iris_server, iris_x: np.ndarray
) -> None:
    client, oip = iris_server
    expected = native(client, "iris-mlp", iris_x.tolist())
    probabilities = np.array(
        [[p["probabilities"][c] for c in ("setosa", "versicolor", "virginica")] for p in expected]
    )
    for binary in (True, False):
        tensor = triton.InferInput("input", list(iris_x.shape), "FP32")
        tensor.set_data_from_numpy(iris_x, binary_data=binary)
        outputs = [
            triton.InferRequestedOutput("probabilities", binary_data=binary),
            triton.InferRequestedOutput("label", binary_data=binary),
        ]
        # tritonclient asks for every output in binary when it names none (the default).
        result = oip.infer(
            "iris-mlp", [tensor], request_id="r1", outputs=None if binary else outputs
        )
        response = result.get_response()
        assert (response["model_name"], response["model_version"], response["id"]) == (
            "iris-mlp",
            "1",
            "r1",
        )
        assert ("parameters" in response["outputs"][0]) is binary  # binary_data_size
        assert np.allclose(result.as_numpy("probabilities"), probabilities, atol=1e-6)
        labels = result.as_numpy("label")
        assert labels.shape == (len(iris_x), 1)
        # Binary BYTES come back as bytes, JSON ones as the strings sent.
        texts = [v.decode() if binary else v for v in labels[:, 0]]
        assert texts == [p["label"] for p in expected]
    classes = triton.InferRequestedOutput("probabilities", class_count=2)
    top = oip.infer("iris-mlp", [tensor], outputs=[classes]).as_numpy("probabilities")
    score, index, label = top[0, 0].decode().split(":")
    assert (label, int(index)) == (expected[0]["label"], 0)
    assert float(score) == pytest.approx(expected[0]["probability"], abs=1e-6)


def test_images_and_table_columns_as_tensors(trained_digits, digits_raw, trained_houses) -> None:
    _run, settings = trained_digits
    pixels = digits_raw.x[:6].astype(np.uint8)  # 8x8 digits, 0 to 16
    with running(create_app("digits-cnn", settings=settings)) as client:
        oip = triton.InferenceServerClient(f"127.0.0.1:{client.base_url.port}")
        assert oip.get_model_metadata("digits-cnn")["inputs"][0]["shape"] == [-1, 1, 8, 8]
        expected = [p["label"] for p in native(client, "digits-cnn", pixels.tolist())]
        for datatype in ("UINT8", "FP32"):
            tensor = triton.InferInput("input", list(pixels.shape), datatype)
            tensor.set_data_from_numpy(
                pixels.astype(np.float32 if datatype == "FP32" else np.uint8)
            )
            labels = oip.infer("digits-cnn", [tensor]).as_numpy("label")[:, 0]
            assert [v.decode() for v in labels] == expected, datatype

    _run, settings = trained_houses
    rows = housing_rows(4, seed=3)
    rows[1]["total_bedrooms"] = ""  # a missing value: NaN in an FP32 column
    with running(create_app("houses-mlp", settings=settings)) as client:
        oip = triton.InferenceServerClient(f"127.0.0.1:{client.base_url.port}")
        expected = [p["values"][0] for p in native(client, "houses-mlp", rows)]
        metadata = oip.get_model_metadata("houses-mlp")
        assert {"name": "ocean_proximity", "datatype": "BYTES", "shape": [-1, 1]} in metadata[
            "inputs"
        ]
        tensors = []
        for column in metadata["inputs"]:
            name = column["name"]
            if column["datatype"] == "BYTES":
                values = np.array([[r[name].encode()] for r in rows], dtype=object)
            else:
                values = np.array([[float(r[name] or "nan")] for r in rows], dtype=np.float32)
            tensor = triton.InferInput(name, [len(rows), 1], column["datatype"])
            tensors.append(tensor.set_data_from_numpy(values))
        result = oip.infer("houses-mlp", tensors)
        assert metadata["outputs"] == [{"name": "output", "datatype": "FP32", "shape": [-1, 1]}]
        assert np.allclose(result.as_numpy("output")[:, 0], expected, rtol=1e-5)
        with pytest.raises(InferenceServerException) as refused:
            oip.infer("houses-mlp", tensors[1:])
        assert refused.value.status() == "400"
        assert refused.value.message().startswith(
            "missing longitude: this model takes one tensor [-1, 1] per column: longitude FP32, "
        )


def refused_by_client(oip, tensor_args, data, **infer_args) -> InferenceServerException:
    tensor = triton.InferInput(*tensor_args)
    tensor.set_data_from_numpy(data)
    with pytest.raises(InferenceServerException) as refused:
        oip.infer(infer_args.pop("model", "iris-mlp"), [tensor], **infer_args)
    return refused.value


def test_mistakes_sent_by_the_client_are_answered_4xx(iris_server, iris_x) -> None:
    _client, oip = iris_server
    cases = [
        (
            ("input", [15, 2, 2], "FP32"),
            iris_x.reshape(15, 2, 2),
            {},
            "400",
            "input 'input': shape [15, 2, 2] does not fit the model's [-1, 4]",
        ),
        (
            ("input", [15, 4], "BYTES"),
            iris_x.astype(str).astype(object),
            {},
            "400",
            "datatype BYTES is not read; send FP32",
        ),
        (
            ("petals", [15, 4], "FP32"),
            iris_x,
            {},
            "400",
            "this model takes one input tensor 'input' FP32 [-1, 4]; got 'petals'",
        ),
        (
            ("input", [15, 4], "FP32"),
            iris_x,
            {"model": "roses"},
            "404",
            "model 'roses' is not served here",
        ),
        (
            ("input", [15, 4], "FP32"),
            iris_x,
            {"model_version": "7"},
            "404",
            "model 'iris-mlp' version '7' is not served here; it serves version 1",
        ),
        (
            ("input", [15, 4], "FP32"),
            iris_x,
            {"outputs": [triton.InferRequestedOutput("logits")]},
            "400",
            "output 'logits' is not one of this model's: probabilities, label",
        ),
        (
            ("input", [15, 4], "FP32"),
            np.where(iris_x > 5, np.nan, iris_x),
            {},
            "400",
            "input: contains NaN or infinite values",
        ),
        (
            ("input", [65, 4], "FP32"),
            np.zeros((65, 4), np.float32),
            {},
            "413",
            "65 samples in one request; the limit is 64",
        ),
        (
            ("input", [4000, 4], "FP32"),
            np.zeros((4000, 4), np.float32),
            {},
            "413",
            "the limit is 52,428",
        ),
    ]
    for tensor_args, data, infer_args, status, message in cases:
        error = refused_by_client(oip, tensor_args, data, **infer_args)
        assert (error.status(), message in error.message()) == (status, True), error.message()


BAD_BODIES = [
    ({"content": b""}, "the body is empty"),
    ({"content": b"{not json"}, "the request's JSON is not valid"),
    ({"json": {"inputs": []}}, '"inputs" must be a non-empty list'),
    (
        {
            "json": {
                "inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP8", "data": [1] * 4}]
            }
        },
        "datatype 'FP8' is not one of BOOL, UINT8",
    ),
    (
        {
            "json": {
                "inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [1] * 3}]
            }
        },
        "3 elements of FP32, its shape [1, 4] holds 4",
    ),
    (
        {"json": {"inputs": [{"name": "input", "shape": [1, -4], "datatype": "FP32", "data": []}]}},
        "shape must be a list of sizes",
    ),
    (
        {
            "json": {
                "inputs": [
                    {
                        "name": "input",
                        "shape": [1, 4],
                        "datatype": "FP32",
                        "data": ["a", "b", "c", "d"],
                    }
                ]
            }
        },
        "FP32 data must be numbers",
    ),
    (
        {
            "json": {
                "inputs": [
                    {"name": "input", "shape": [1, 4], "datatype": "INT8", "data": [1, 2, 3, 999]}
                ]
            }
        },
        "values out of the range of INT8",
    ),
    (
        {
            "content": b'{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", '
            b'"parameters": {"binary_data_size": 16}}]}' + struct.pack("<4f", 1, 2, 3, 4),
            "headers": {"inference-header-content-length": "500"},
        },
        "Inference-Header-Content-Length '500' is not a length within the body",
    ),
    (
        {
            "content": b'{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", '
            b'"parameters": {"binary_data_size": 12}}]}' + struct.pack("<4f", 1, 2, 3, 4),
            "header": True,
        },
        "3 elements of FP32, its shape [1, 4] holds 4",
    ),
    (
        {
            "content": b'{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", '
            b'"parameters": {"binary_data_size": 16}}]}' + struct.pack("<5f", 1, 2, 3, 4, 5),
            "header": True,
        },
        "4 bytes of binary data beyond its inputs' binary_data_size",
    ),
    (
        {
            "json": {
                "inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [1] * 4}],
                "outputs": [{"name": "label", "parameters": {"classification": 2}}],
            }
        },
        "classification is asked of 'label'",
    ),
    ({"content": b"{}", "headers": {"content-encoding": "gzip"}}, "Content-Encoding 'gzip'"),
    (
        {"json": {"inputs": [{"name": "input", "shape": [0, 4], "datatype": "FP32", "data": []}]}},
        "the batch is empty",
    ),
]


@pytest.mark.parametrize(("request_args", "message"), BAD_BODIES)
def test_malformed_requests_are_answered_400_with_a_message(
    iris_server, request_args: dict, message: str
) -> None:
    client, _oip = iris_server
    args = dict(request_args)
    if args.pop("header", False):
        length = args["content"].index(b"}]}") + 3
        args["headers"] = {"inference-header-content-length": str(length)}
    answer = client.post("/v2/models/iris-mlp/infer", **args)
    assert answer.status_code == 400, answer.text
    assert message in answer.json()["error"]


def test_json_data_may_be_nested_and_answers_json(iris_server, iris_x) -> None:
    client, _oip = iris_server
    body = {
        "inputs": [
            {"name": "input", "shape": [2, 4], "datatype": "FP64", "data": iris_x[:2].tolist()}
        ]
    }
    answer = client.post("/v2/models/iris-mlp/versions/1/infer", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    outputs = {o["name"]: o for o in answer.json()["outputs"]}
    assert outputs["label"]["data"] == [
        p["label"] for p in native(client, "iris-mlp", iris_x[:2].tolist())
    ]
    assert outputs["probabilities"]["shape"] == [2, 3]
    assert client.get("/v2/health/live").json() == {"live": True}
    paths = client.get("/openapi.json").json()["paths"]
    versioned = paths["/v2/models/{name}/versions/{version}/infer"]["post"]
    assert [p["name"] for p in versioned["parameters"]] == ["name", "version"]
    assert {"400", "404", "413"} <= set(versioned["responses"])
    assert [p["name"] for p in paths["/v2/models/{name}"]["get"]["parameters"]] == ["name"]
    metrics = client.get("/metrics").text
    assert 'athanor_requests_total{code="400",model="iris-mlp"}' in metrics
    assert json.loads(client.get("/v2/models/iris-mlp/ready").text)["ready"] is True
