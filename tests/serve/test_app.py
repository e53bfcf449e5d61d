"""The model server on a real loopback socket: predictions, health, metrics, bad input, swaps."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections import Counter
from itertools import pairwise

import httpx
import numpy as np
import pytest
from PIL import Image

from athanor.api import models
from athanor.errors import NotFound, PayloadTooLarge, PredictionInputError, UnsupportedMediaType
from athanor.registry import register_package
from athanor.serve import Predictor
from athanor.serve.app import create_app
from athanor.serve.predict_bodies import PredictRequest
from athanor.spec.serving import ServingSpec
from athanor.store import open_store
from tests.conftest import housing_rows
from tests.serve.conftest import running


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).resize((32, 32), Image.Resampling.NEAREST).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def digits_client(trained_digits):
    _run, settings = trained_digits
    config = ServingSpec(max_body_mb=0.05, max_request_samples=64)
    with running(create_app("digits-cnn", config=config, settings=settings)) as client:
        yield client


def test_predicts_images_sent_as_json_tensors_base64_and_files(
    digits_client: httpx.Client, trained_digits, digits_raw
) -> None:
    run, _ = trained_digits
    expected = [p.label for p in Predictor.from_package(run.package_dir).predict(digits_raw.x[:4])]
    by_tensor = digits_client.post(
        "/v1/models/digits-cnn/predict", json={"inputs": digits_raw.x[:4].tolist()}
    )
    assert by_tensor.status_code == 200, by_tensor.text
    body = by_tensor.json()
    assert body["model"] == "digits-cnn@1"
    assert [p["label"] for p in body["predictions"]] == expected
    assert np.isclose(sum(body["predictions"][0]["probabilities"].values()), 1.0)
    single = digits_client.post(  # one sample without its channel axis
        "/v1/models/digits-cnn/predict", json={"inputs": digits_raw.x[0, 0].tolist()}
    )
    assert [p["label"] for p in single.json()["predictions"]] == expected[:1]

    images = [png(digits_raw.x[i, 0]) for i in range(4)]
    files = [("files", (f"{i}.png", data, "image/png")) for i, data in enumerate(images)]
    by_files = digits_client.post("/v1/models/digits-cnn/predict", files=files)
    assert by_files.status_code == 200, by_files.text
    assert [p["label"] for p in by_files.json()["predictions"]] == expected
    b64 = [{"b64": base64.b64encode(data).decode()} for data in images[:2]]
    by_b64 = digits_client.post("/v1/models/digits-cnn/predict", json={"inputs": b64})
    assert [p["label"] for p in by_b64.json()["predictions"]] == expected[:2]
    raw_png = digits_client.post(
        "/v1/models/digits-cnn/predict",
        content=images[3],
        headers={"content-type": "image/png"},
    )
    assert [p["label"] for p in raw_png.json()["predictions"]] == expected[3:]


def test_a_multipart_body_with_more_part_headers_is_answered_as_a_plain_one(
    digits_client: httpx.Client, digits_raw
) -> None:
    image = png(digits_raw.x[0, 0])
    plain = digits_client.post(
        "/v1/models/digits-cnn/predict", files=[("files", ("0.png", image, "image/png"))]
    )
    body = (  # a header the quick split leaves to the general form parser
        b'--b0\r\nContent-Disposition: form-data; name="files"; filename="0.png"\r\n'
        b"Content-Type: image/png\r\nContent-Length: %d\r\n\r\n"
        % len(image)
        + image
        + b"\r\n--b0--\r\n"
    )
    with_header = digits_client.post(
        "/v1/models/digits-cnn/predict",
        content=body,
        headers={"content-type": "multipart/form-data; boundary=b0"},
    )
    assert plain.status_code == with_header.status_code == 200, with_header.text
    assert with_header.json() == plain.json()


BAD_REQUESTS = [
    ({"json": {"inputs": [[1, 2, 3]]}}, 422, "shape [1, 3] does not fit the model's input"),
    ({"json": {"inputs": [[[1, 2], [3]]]}}, 422, '"inputs" is ragged'),
    ({"json": {"inputs": [["a"] * 8] * 8}}, 422, "must hold only numbers"),
    ({"json": {"inputs": [None]}}, 422, "must hold only numbers"),
    ({"json": {"inputs": []}}, 422, "non-empty list"),
    ({"json": {"input": [1]}}, 422, "unknown key(s) input"),
    ({"json": {"inputs": ["some text"]}}, 422, "takes image inputs [1, 8, 8], not text"),
    ({"json": {"inputs": ["/etc/passwd"]}}, 422, "not text"),
    ({"json": {"inputs": [{"b64": "%%%"}]}}, 422, "b64 is not valid base64"),
    ({"json": {"inputs": [{"b64": "aGVsbG8="}]}}, 422, "input 0: not a readable image"),
    ({"json": {"inputs": [{"pixel": 3}]}}, 422, "not rows of named features"),
    ({"json": 42}, 422, "non-empty list"),
    ({"content": b'{"inputs": [NaN]}'}, 422, "holds NaN"),
    (
        {"content": b'{"inputs": [[' + b",".join([b"[" + b"1e999," * 7 + b"1]"] * 8) + b"]]}"},
        422,
        "NaN or infinite",
    ),
    ({"content": b"{not json"}, 422, "not valid JSON"),
    ({"content": b""}, 422, "the body is empty"),
    ({"content": b"[" * 20_000 + b"]" * 20_000}, 422, "not valid JSON"),  # too deep
    ({"content": iter([b"0" * 30_000] * 2)}, 413, "exceeds the limit"),  # chunked, no length
    ({"content": b"hi", "headers": {"content-type": "text/plain"}}, 415, "text/plain"),
    ({"files": [("files", ("a.png", b"GIF89a?", "image/png"))]}, 422, "a.png: not a readable"),
    ({"files": [("files", ("notes.txt", b"hello", "text/plain"))]}, 422, "unsupported file"),
    ({"files": [("f", ("rows.csv", b"1,2\n", "text/csv"))]}, 422, "rows.csv:1: 2 values"),
    ({"data": {"note": "hi"}, "files": [("f", ("x.png", b"", "image/png"))]}, 422, "'note'"),
    ({"json": {"inputs": np.zeros((65, 8, 8)).tolist()}}, 413, "65 samples"),
    (
        {"files": [("files", (f"{i}.png", b"", "image/png")) for i in range(65)]},
        422,
        "Maximum number of files is 64",
    ),
    ({"content": b"0" * 60_000}, 413, "the limit is 52,428"),
]


@pytest.mark.parametrize(("request_args", "status", "message"), BAD_REQUESTS)
def test_bad_input_is_answered_4xx_with_a_message(
    digits_client: httpx.Client, request_args: dict, status: int, message: str
) -> None:
    args = dict(request_args)
    if "content" in args:
        args.setdefault("headers", {"content-type": "application/json"})
    response = digits_client.post("/v1/models/digits-cnn/predict", **args)
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]


def test_unknown_model_health_readiness_models_docs_and_metrics(
    digits_client: httpx.Client,
) -> None:
    missing = digits_client.post("/v1/models/nothing/predict", json={"inputs": [1]})
    assert missing.status_code == 404 and "served: digits-cnn" in missing.json()["detail"]
    assert digits_client.get("/healthz").json() == {"status": "ok"}
    ready = digits_client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["models"] == {"digits-cnn": "digits-cnn@1"}
    (served,) = digits_client.get("/v1/models").json()["models"]
    assert served["ref"] == "digits-cnn@1" and served["follows"] is True
    assert served["runtime"] == "onnxruntime"  # auto, on the CPU, for a network that exports
    assert served["signature"]["inputs"][0]["shape"] == ["batch", 1, 8, 8]
    assert digits_client.get("/v1/models/digits-cnn").json()["classes"][0] == "0"
    paths = digits_client.get("/openapi.json").json()["paths"]
    content = paths["/v1/models/{name}/predict"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(content)
    assert digits_client.get("/docs").status_code == 200

    digits_client.post("/v1/models/digits-cnn/predict", json={"inputs": [[0.0] * 3]})
    digits_client.post(
        "/v1/models/digits-cnn/predict", json={"inputs": np.zeros((3, 8, 8)).tolist()}
    )
    text = digits_client.get("/metrics").text
    assert 'athanor_requests_total{code="200",model="digits-cnn"}' in text
    assert 'athanor_requests_total{code="422",model="digits-cnn"}' in text
    assert 'athanor_request_seconds_bucket{le="0.1",model="digits-cnn"}' in text
    assert 'athanor_batch_size_count{model="digits-cnn"}' in text
    assert 'athanor_request_errors_total{kind="PredictionInputError",model="digits-cnn"}' in text
    assert 'athanor_model_version{model="digits-cnn"} 1.0' in text


def test_mistakes_are_answered_with_their_errors_status_as_the_schema_declares(
    digits_client: httpx.Client,
) -> None:
    schema = digits_client.get("/openapi.json").json()
    operations = {
        "predict": schema["paths"]["/v1/models/{name}/predict"]["post"],
        "reload": schema["paths"]["/v1/models/{name}/reload"]["post"],
        "show": schema["paths"]["/v1/models/{name}"]["get"],
    }
    body = operations["predict"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/PredictRequest"}
    assert schema["components"]["schemas"]["PredictRequest"] == PredictRequest.model_json_schema()
    predict = "/v1/models/digits-cnn/predict"
    text = {"content": b"x", "headers": {"content-type": "text/plain"}}
    too_many = {"json": {"inputs": np.zeros((65, 8, 8)).tolist()}}
    answers = [
        ("predict", "POST", predict, {"json": {"inputs": [[1, 2]]}}, PredictionInputError),
        ("predict", "POST", predict, text, UnsupportedMediaType),
        ("predict", "POST", predict, too_many, PayloadTooLarge),
        ("predict", "POST", "/v1/models/nothing/predict", {"json": {"inputs": [1]}}, NotFound),
        ("reload", "POST", "/v1/models/nothing/reload", {}, NotFound),
        ("show", "GET", "/v1/models/nothing", {}, NotFound),
    ]
    for operation, method, path, request, error in answers:
        response = digits_client.request(method, path, **request)
        assert response.status_code == error.http_status, (path, response.text)
        assert str(response.status_code) in operations[operation]["responses"], path
    reloaded = digits_client.post("/v1/models/digits-cnn/reload")
    assert reloaded.json() == {"model": "digits-cnn@1", "swapped": False}


def test_table_rows_as_objects_arrays_and_csv_uploads(trained_iris) -> None:
    run, settings = trained_iris
    predictor = Predictor.from_package(run.package_dir)
    features = predictor.schema.input.features
    setosa, virginica = [5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]
    config = ServingSpec(runtime="torch")
    with running(create_app("iris-mlp@1", config=config, settings=settings)) as client:
        rows = [dict(zip(features, row, strict=True)) for row in (setosa, virginica)]
        by_rows = client.post("/v1/models/iris-mlp/predict", json={"inputs": rows})
        assert by_rows.status_code == 200, by_rows.text
        assert [p["label"] for p in by_rows.json()["predictions"]] == ["setosa", "virginica"]
        by_array = client.post("/v1/models/iris-mlp/predict", json=[setosa, virginica])
        assert by_array.json()["predictions"] == by_rows.json()["predictions"]
        csv = ",".join(reversed(features)) + "\n" + ",".join(map(str, reversed(setosa))) + "\n"
        by_csv = client.post(
            "/v1/models/iris-mlp/predict", content=csv, headers={"content-type": "text/csv"}
        )
        assert [p["label"] for p in by_csv.json()["predictions"]] == ["setosa"]
        bad = dict(rows[0], **{features[1]: "wide"})
        refused = client.post("/v1/models/iris-mlp/predict", json={"inputs": [bad]})
        assert refused.status_code == 422
        assert f"feature {features[1]}: 'wide' is not a number" in refused.json()["detail"]
        partial = client.post("/v1/models/iris-mlp/predict", json={"inputs": [{features[0]: 5}]})
        assert partial.status_code == 422
        assert f"input 0: missing feature(s) {features[1]}" in partial.json()["detail"]
        image = client.post(
            "/v1/models/iris-mlp/predict",
            files=[("files", ("x.png", b"\x89PNG", "image/png"))],
        )
        assert image.status_code == 422 and "this model takes CSV files" in image.json()["detail"]
        (served,) = client.get("/v1/models").json()["models"]
        assert served["follows"] is False  # a fixed version is never swapped
        assert served["runtime"] == "torch"


def test_switching_an_alias_under_load_drops_no_request(trained_digits, digits_raw) -> None:
    run, _ = trained_digits
    store = open_store()  # this test's own home
    for _ in range(2):
        register_package(store, "digits", run.package_dir)
    models.set_alias("digits", "production", 1)
    config = ServingSpec(alias_poll_s=0.05, max_wait_ms=1)
    body = {"inputs": digits_raw.x[:2].tolist()}
    outcomes: list[list[tuple[int, str]]] = [[] for _ in range(6)]
    stop = threading.Event()

    with running(create_app("digits@production", config=config)) as client:
        base = str(client.base_url)

        def load(results: list[tuple[int, str]]) -> None:
            with httpx.Client(base_url=base, timeout=30) as own:
                while not stop.is_set():
                    try:
                        response = own.post("/v1/models/digits/predict", json=body)
                        model = response.json().get("model", "") if response.is_success else ""
                        results.append((response.status_code, model))
                    except httpx.HTTPError as exc:  # a dropped connection counts as a failure
                        results.append((0, repr(exc)))

        threads = [threading.Thread(target=load, args=(r,)) for r in outcomes]
        for thread in threads:
            thread.start()

        def served_count(ref: str) -> int:
            return sum(model == ref for results in outcomes for _, model in results)

        def wait_for(ref: str) -> None:
            deadline = time.monotonic() + 20
            start = served_count(ref)
            while served_count(ref) < start + 20:
                assert time.monotonic() < deadline, f"{ref} never answered"
                time.sleep(0.01)

        wait_for("digits@1")
        for target in (2, 1, 2):
            models.set_alias("digits", "production", target)
            wait_for(f"digits@{target}")
        stop.set()
        for thread in threads:
            thread.join(30)
        metrics = client.get("/metrics").text

    statuses = Counter(status for results in outcomes for status, _ in results)
    assert set(statuses) == {200}, statuses
    for results in outcomes:
        # Each client's sequential requests follow the three swaps in order, never flapping
        # back to a version it has already moved past.
        refs = [model for _, model in results]
        changes = sum(a != b for a, b in pairwise(refs))
        assert refs[0] == "digits@1" and changes <= 3, refs
    assert 'athanor_model_swaps_total{model="digits"} 3.0' in metrics
    assert sum(statuses.values()) > 80


@pytest.fixture(scope="module")
def generators_client(trained_generators):
    app = create_app(["shakes-char", "digits-gan"], settings=trained_generators)
    with running(app) as client:
        yield client


def test_generate_answers_text_and_images_and_refuses_bad_requests_with_4xx(
    generators_client: httpx.Client,
) -> None:
    text = generators_client.post(
        "/v1/models/shakes-char/generate",
        json={"prompt": "KING:", "length": 50, "temperature": 0.7, "top_k": 8, "seed": 9},
    )
    assert text.status_code == 200, text.text
    body = text.json()
    assert body["kind"] == "text" and body["model"] == "shakes-char@1" and body["seed"] == 9
    assert body["text"].startswith("KING:") and len(body["generated"]) == 50
    assert "<pad>" not in body["text"] and "<unk>" not in body["text"]
    again = generators_client.post(
        "/v1/models/shakes-char/generate",
        json={"prompt": "KING:", "length": 50, "temperature": 0.7, "top_k": 8, "seed": 9},
    )
    assert again.json()["text"] == body["text"]
    images = generators_client.post("/v1/models/digits-gan/generate", json={"n": 4, "seed": 1})
    assert images.status_code == 200, images.text
    assert images.json()["count"] == 4 and len(images.json()["images_png"]) == 4
    grid = Image.open(io.BytesIO(base64.b64decode(images.json()["grid_png"])))
    assert grid.size == (22, 22)
    refusals = {
        "/v1/models/shakes-char/generate": [
            ({"prompt": "ça"}, 422, "'ç'"),
            ({"length": 0}, 422, "length"),
            ({"length": 10**6}, 422, "length"),
            ({"temperature": -1}, 422, "temperature"),
            ({"top_k": 0}, 422, "top_k"),
            ({"seed": -1}, 422, "seed"),
            ({"colour": "red"}, 422, "colour"),
        ],
        "/v1/models/digits-gan/generate": [({"n": 100_000}, 422, "n")],
        "/v1/models/nope/generate": [({}, 404, "not served here")],
    }
    for path, cases in refusals.items():
        for payload, status, detail in cases:
            response = generators_client.post(path, json=payload)
            assert response.status_code == status, (payload, response.text)
            assert detail in json.dumps(response.json()["detail"], ensure_ascii=False), payload
    predicted = generators_client.post("/v1/models/shakes-char/predict", json={"inputs": ["To be"]})
    assert predicted.status_code == 422 and "generate" in predicted.json()["detail"]
    gan_predicted = generators_client.post(
        "/v1/models/digits-gan/predict", json={"inputs": np.zeros((1, 8, 8)).tolist()}
    )
    assert gan_predicted.status_code == 422 and "generate" in gan_predicted.json()["detail"]
    described = generators_client.get("/v1/models/digits-gan").json()
    assert described["runtime"] == "torch"
    assert described["signature"]["inputs"][0]["shape"] == ["batch", 8]


def test_table_rows_as_imported_in_every_form_the_server_reads(trained_houses) -> None:
    run, settings = trained_houses
    predictor = Predictor.from_package(run.package_dir)
    columns = [c.name for c in predictor.schema.input.columns or []]
    rows = housing_rows(3, seed=1)
    rows[0]["total_bedrooms"] = ""
    expected = predictor.predict_proba(rows)[:, 0]
    shuffled = ["median_house_value", *reversed(columns), "note"]  # the target and an extra
    with_header = "\n".join(
        [",".join(shuffled), *(",".join(r.get(c, "x") for c in shuffled) for r in rows)]
    )
    no_header = "\n".join(",".join(r[c] for c in columns) for r in rows)
    url = "/v1/models/houses-mlp/predict"
    # The ONNX Runtime path (auto on the CPU) maps the standardized output back to dollars.
    with running(create_app("houses-mlp", settings=settings)) as client:
        answers = {
            "csv": client.post(url, content=with_header, headers={"content-type": "text/csv"}),
            "csv without header": client.post(
                url, content=no_header, headers={"content-type": "text/csv"}
            ),
            "csv header=absent": client.post(
                url, content=no_header, headers={"content-type": "text/csv; header=absent"}
            ),
            "multipart": client.post(
                url, files=[("files", ("rows.csv", with_header.encode(), "text/csv"))]
            ),
            "json rows": client.post(url, json={"inputs": [dict(r, extra=1) for r in rows]}),
            "json values": client.post(
                url, json={"inputs": [[r[c] for c in columns] for r in rows]}
            ),
        }
        for form, answer in answers.items():
            assert answer.status_code == 200, (form, answer.text)
            values = [p["values"][0] for p in answer.json()["predictions"]]
            assert np.allclose(values, expected, rtol=1e-4), form
        assert client.get("/v1/models").json()["models"][0]["runtime"] == "onnxruntime"
        nulls = client.post(url, json={"inputs": [dict(rows[1], total_bedrooms=None)]})
        assert nulls.status_code == 200, nulls.text
        lacking = {c: rows[0][c] for c in columns if c not in ("population", "households")}
        refused = client.post(url, json={"inputs": [lacking]})
        assert refused.status_code == 422
        assert refused.json()["detail"].startswith(
            "input 0: missing column(s) population, households; the model takes longitude, "
        )
        header_lacking = client.post(
            url, content="longitude,latitude\n1,2\n", headers={"content-type": "text/csv"}
        )
        assert header_lacking.status_code == 422
        assert (
            "the header lacks the model's column(s) housing_median_age"
            in (header_lacking.json()["detail"])
        )
        short = client.post(url, content="1,2,3\n", headers={"content-type": "text/csv"})
        assert short.status_code == 422
        assert "3 values and no header" in short.json()["detail"]
