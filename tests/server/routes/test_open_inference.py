"""``/v2``: the Open Inference Protocol on the platform's deployments, called by the real
``tritonclient[http]`` with the platform's bearer token: a deployment is a protocol model of
its name; answers equal the native ``/v1/deployments/{name}/predict``; tokens, roles, the
traffic counts and the protocol's 4xx."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from athanor.data.prepare import load_raw
from tests.server.routes.conftest import Api

NAME = "oip-iris"


@pytest.fixture(scope="module")
def deployment(api: Api) -> Iterator[triton.InferenceServerClient]:
    """``oip-iris`` serving iris-mlp, and a protocol client of the platform with its token."""
    body = {"name": NAME, "model": "iris-mlp", "config": {"max_request_samples": 32}}
    assert api.call("POST", "/v1/deployments", json=body).status_code == 201
    client = triton.InferenceServerClient(f"127.0.0.1:{api.client.base_url.port}")
    yield client
    api.client.delete(f"/v1/deployments/{NAME}")


def headers(api: Api) -> dict[str, str]:
    """A new dict per call: tritonclient adds its binary header length to the one it gets."""
    return {"Authorization": api.client.headers["Authorization"]}


def test_a_deployment_is_a_protocol_model_of_its_name(api: Api, deployment) -> None:
    oip, auth = deployment, headers(api)
    assert oip.is_server_live(headers=auth) and oip.is_server_ready(headers=auth)
    assert oip.is_model_ready(NAME, headers=auth)
    assert oip.is_model_ready(NAME, "1", headers=auth)
    assert not oip.is_model_ready(NAME, "7", headers=auth)
    assert not oip.is_model_ready("no-such-deployment", headers=auth)
    metadata = oip.get_model_metadata(NAME, headers=auth)
    assert metadata["name"] == NAME and metadata["versions"] == ["1"]
    assert metadata["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 4]}]
    with pytest.raises(InferenceServerException) as missing:
        oip.get_model_metadata("no-such-deployment", headers=auth)
    assert missing.value.status() == "404" and "no-such-deployment" in missing.value.message()


def test_infer_equals_the_native_route_and_is_counted(api: Api, deployment) -> None:
    oip = deployment
    flowers = load_raw("iris").x[::15].astype(np.float32)
    before = api.call("GET", f"/v1/deployments/{NAME}/metrics?minutes=5").json()
    native = api.call(
        "POST", f"/v1/deployments/{NAME}/predict", json={"inputs": flowers.tolist()}
    ).json()["predictions"]
    for binary in (True, False):
        tensor = triton.InferInput("input", list(flowers.shape), "FP32")
        tensor.set_data_from_numpy(flowers, binary_data=binary)
        wanted = [triton.InferRequestedOutput("label", binary_data=binary)]
        result = oip.infer(NAME, [tensor], outputs=wanted, headers=headers(api))
        labels = [v.decode() if binary else v for v in result.as_numpy("label")[:, 0]]
        assert labels == [p["label"] for p in native]
    after = api.call("GET", f"/v1/deployments/{NAME}/metrics?minutes=5").json()
    assert after["totals"]["requests"] - before["totals"]["requests"] == 3  # native + 2 OIP


def test_tokens_roles_and_the_protocols_refusals(api: Api, deployment) -> None:
    oip, auth = deployment, headers(api)
    flowers = np.zeros((2, 4), dtype=np.float32)
    tensor = triton.InferInput("input", [2, 4], "FP32")
    tensor.set_data_from_numpy(flowers)
    with pytest.raises(InferenceServerException) as anonymous:
        oip.infer(NAME, [tensor])  # no token: no client is trusted for being local
    assert anonymous.value.status() == "401"
    for path in ("/v2", "/v2/health/live", f"/v2/models/{NAME}"):  # not console files
        assert httpx.get(f"{api.client.base_url}{path}").status_code == 401, path
    wrong = triton.InferInput("input", [2, 3], "FP32")
    wrong.set_data_from_numpy(np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(InferenceServerException) as shape:
        oip.infer(NAME, [wrong], headers=headers(api))
    assert shape.value.status() == "400"
    many = triton.InferInput("input", [40, 4], "FP32")
    many.set_data_from_numpy(np.zeros((40, 4), dtype=np.float32))
    with pytest.raises(InferenceServerException) as too_many:
        oip.infer(NAME, [many], headers=headers(api))
    assert too_many.value.status() == "413"
    with pytest.raises(InferenceServerException) as version:
        oip.infer(NAME, [tensor], model_version="9", headers=headers(api))
    assert version.value.status() == "404" and "version '9'" in version.value.message()
    assert api.call("POST", f"/v1/deployments/{NAME}/stop").status_code == 200
    try:
        assert not oip.is_model_ready(NAME, headers=auth)
        with pytest.raises(InferenceServerException) as stopped:
            oip.infer(NAME, [tensor], headers=headers(api))
        assert stopped.value.status() == "400" and "stopped" in stopped.value.message()
    finally:
        assert api.call("POST", f"/v1/deployments/{NAME}/start").status_code == 200
    assert oip.is_model_ready(NAME, headers=auth)
