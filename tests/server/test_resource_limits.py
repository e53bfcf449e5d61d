"""A real platform refuses resource bombs with 4xx and a message, in time, and keeps serving:
YAML alias bombs, deep JSON, huge integers in jobs; huge images in imports and deployments."""

from __future__ import annotations

import io
import json
import time

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.resource_bombs import BILLION_LAUGHS, png_bomb
from tests.server.conftest import PlatformProcess

SPEC = {"name": "x", "data": {"dataset": "iris"}, "model": {"template": "mlp"}}


@pytest.fixture(scope="module")
def api(shared_platform: PlatformProcess):
    headers = {"Authorization": f"Bearer {shared_platform.owner_token}"}
    with httpx.Client(base_url=shared_platform.url, headers=headers, timeout=60) as client:
        # The first job request imports the spec and job modules: time the others only.
        assert client.post("/v1/jobs", json={"spec": {"name": "warm-up"}}).status_code == 400
        yield client


def deep_json(depth: int) -> bytes:
    return ('{"spec": ' + '{"a": ' * depth + "1" + "}" * depth + "}").encode()


JOB_BOMBS = [
    ("alias bomb", {"json": {"spec": BILLION_LAUGHS}}, "more than 100,000 values"),
    ("deep YAML", {"json": {"spec": "a: " + "[" * 20_000 + "]" * 20_000}}, "nested more"),
    ("deep JSON 900", {"content": deep_json(900)}, "nested more than 100 levels deep"),
    ("deep JSON 20000", {"content": deep_json(20_000)}, ""),
    (
        "5000-digit override",
        {"json": {"spec": SPEC, "overrides": ["train.epochs=" + "9" * 5000]}},
        "an integer of 5000 characters",
    ),
    (
        "5000-digit YAML",
        {"json": {"spec": "name: x\ntrain: {epochs: " + "9" * 5000 + "}\n"}},
        "spec.yaml:2:17: YAML beyond a limit: an integer of 5000 characters",
    ),
    ("seed 2**70", {"json": {"spec": {**SPEC, "seed": 2**70}}}, "seed: 1180591620717411303424"),
]


@pytest.mark.parametrize(
    ("what", "request_args", "message"), JOB_BOMBS, ids=[b[0] for b in JOB_BOMBS]
)
def test_job_bombs_are_answered_400_in_milliseconds(
    api: httpx.Client, what: str, request_args: dict, message: str
) -> None:
    if "content" in request_args:
        request_args = {**request_args, "headers": {"content-type": "application/json"}}
    started = time.perf_counter()
    response = api.post("/v1/jobs", **request_args)
    assert time.perf_counter() - started < 2, what
    assert response.status_code == 400, response.text
    assert message in response.json()["detail"]
    assert api.get("/v1/health").status_code == 200


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_huge_image_in_an_uploaded_dataset_is_answered_413_or_skipped(
    api: httpx.Client,
) -> None:
    upload = api.post("/v1/uploads").json()["id"]
    rng = np.random.default_rng(0)
    for label in ("dark", "light"):
        for index in range(3):
            pixels = (rng.integers(0, 60, (10, 10)) + (0 if label == "dark" else 180)).astype(
                np.uint8
            )
            put = api.put(
                f"/v1/uploads/{upload}/files/shapes/{label}/{index}.png", content=png(pixels)
            )
            assert put.status_code == 200, put.text
    bomb = api.put(f"/v1/uploads/{upload}/files/shapes/light/huge.png", content=png_bomb())
    assert bomb.status_code == 200, bomb.text
    body = {"upload": upload, "path": "shapes", "name": "bombed"}
    refused = api.post("/v1/datasets", json=body)
    assert refused.status_code == 413, refused.text
    detail = refused.json()["detail"]
    assert "shapes/light/huge.png: the image has 400,000,000 pixels" in detail
    assert "more than the limit of 50,000,000 pixels" in detail
    imported = api.post("/v1/datasets", json={**body, "skip_bad": True})
    assert imported.status_code == 201, imported.text
    assert imported.json()["rows"] == 6


def test_a_deployment_answers_413_for_a_huge_image(
    shared_platform: PlatformProcess, api: httpx.Client, trained_digits, digits_raw
) -> None:
    from athanor.registry.registry import register_package

    run, _ = trained_digits
    register_package(shared_platform.store(), "digits-bombed", run.package_dir)
    created = api.post("/v1/deployments", json={"name": "digits-bombed", "model": "digits-bombed"})
    assert created.status_code == 201, created.text
    url = "/v1/deployments/digits-bombed/predict"
    refused = api.post(url, files=[("files", ("huge.png", png_bomb(), "image/png"))])
    assert refused.status_code == 413, refused.text
    assert refused.json()["detail"].startswith("huge.png: the image has 400,000,000 pixels")
    fine = api.post(url, files=[("files", ("3.png", png(digits_raw.x[3, 0]), "image/png"))])
    assert fine.status_code == 200, fine.text
    assert api.delete("/v1/deployments/digits-bombed").status_code == 204
    assert json.loads(fine.text)["predictions"]
