"""The vision labs' REST routes on a real platform: answers, and a 4xx naming the field and
the valid range for every input out of range."""

from __future__ import annotations

import base64
import io

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.server.conftest import PlatformProcess


def _post(platform: PlatformProcess, path: str, body: dict) -> httpx.Response:
    return httpx.post(
        f"{platform.url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {platform.owner_token}"},
        timeout=60,
    )


def _png(array: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_convolution_of_an_upload_with_pooling(shared_platform: PlatformProcess) -> None:
    image = np.zeros((10, 12), dtype=np.uint8)
    image[:, 6:] = 255  # one vertical edge
    answer = _post(
        shared_platform,
        "/v1/lab/convolution",
        {"image": _png(image), "kernel": "sobel_x", "stride": 2, "pool": "max"},
    )
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["input_shape"] == [10, 12] and found["output_shape"] == [4, 5]
    assert found["formulas"]["width"] == "⌊(12 + 2·0 − 1·(3 − 1) − 1)/2⌋ + 1 = ⌊9/2⌋ + 1 = 5"
    assert found["multiplications"] == 4 * 5 * 9 and found["additions"] == 4 * 5 * 8
    assert np.asarray(found["output"])[:, 2].min() == pytest.approx(4.0)  # the edge, 1 - 0
    assert found["pooling"]["output_shape"] == [2, 2]
    assert found["pooling"]["operations"] == {"comparisons": 4 * 3}


def test_the_kernels_on_offer(shared_platform: PlatformProcess) -> None:
    answer = httpx.get(
        f"{shared_platform.url}/v1/lab/convolution/kernels",
        headers={"Authorization": f"Bearer {shared_platform.owner_token}"},
    ).json()
    names = [kernel["name"] for kernel in answer["kernels"]]
    assert names[:2] == ["sobel_x", "sobel_y"] and "gaussian" in names
    assert "mnist" in answer["datasets"]


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/v1/lab/convolution", {"dataset": "digits", "stride": 9}, 422, "stride"),
        ("/v1/lab/convolution", {"dataset": "digits", "kernel": "custom"}, 400, "weights: a"),
        ("/v1/lab/convolution", {"dataset": "digits", "index": 1797}, 400, "0 to 1796"),
        ("/v1/lab/convolution", {}, 400, "image, dataset: give one"),
        (
            "/v1/lab/convolution",
            {"dataset": "digits", "dilation": 4, "kernel": "mean", "size": 7},
            400,
            "output has no pixel",
        ),
        ("/v1/lab/convolution", {"image": "aGVsbG8="}, 400, "image: not a readable image"),
        ("/v1/lab/cnn", {"model": "nothing-here", "dataset": "digits"}, 404, "nothing-here"),
    ],
)
def test_inputs_out_of_range_are_4xx_naming_the_field(
    shared_platform: PlatformProcess, path: str, body: dict, status: int, message: str
) -> None:
    answer = _post(shared_platform, path, body)
    assert answer.status_code == status, answer.text
    assert message in answer.text
