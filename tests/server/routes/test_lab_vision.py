"""``/v1/lab/convolution`` and ``/v1/lab/cnn``: answers, and a 4xx naming the field and the
valid range for every input out of range (each status one the operation declares)."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from tests.server.routes.conftest import Api


def _png(array: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_convolution_of_an_upload_with_pooling(api: Api) -> None:
    image = np.zeros((10, 12), dtype=np.uint8)
    image[:, 6:] = 255  # one vertical edge
    answer = api.call(
        "POST",
        "/v1/lab/convolution",
        json={"image": _png(image), "kernel": "sobel_x", "stride": 2, "pool": "max"},
    )
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["input_shape"] == [10, 12] and found["output_shape"] == [4, 5]
    assert found["formulas"]["width"] == "⌊(12 + 2·0 − 1·(3 − 1) − 1)/2⌋ + 1 = ⌊9/2⌋ + 1 = 5"
    assert found["multiplications"] == 4 * 5 * 9 and found["additions"] == 4 * 5 * 8
    assert np.asarray(found["output"])[:, 2].min() == pytest.approx(4.0)  # the edge, 1 - 0
    assert found["pooling"]["output_shape"] == [2, 2]
    assert found["pooling"]["operations"] == {"comparisons": 4 * 3}


def test_the_kernels_on_offer(api: Api) -> None:
    answer = api.call("GET", "/v1/lab/convolution/kernels").json()
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
        ("/v1/lab/cnn/explain", {"model": "iris-mlp", "dataset": "digits"}, 400, "need an image"),
    ],
)
def test_inputs_out_of_range_are_4xx_naming_the_field(
    api: Api, path: str, body: dict, status: int, message: str
) -> None:
    answer = api.call("POST", path, json=body)
    assert answer.status_code == status, answer.text
    assert message in answer.text
