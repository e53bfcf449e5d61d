"""A detector served by a real uvicorn server and used from the Python API."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from athanor.serve.app import create_app
from athanor.serve.predictor import Predictor
from tests.serve.conftest import running


def _canvas_png() -> bytes:
    canvas = np.zeros((96, 96), dtype=np.uint8)
    canvas[20:60, 30:50] = 255
    buffer = io.BytesIO()
    Image.fromarray(canvas).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def detector_client(trained_detector):
    _run, settings = trained_detector
    with running(create_app("digit-boxes", settings=settings)) as client:
        yield client


def test_the_server_answers_boxes_per_image_and_4xx_for_bad_inputs(
    detector_client, trained_detector
) -> None:
    run, _ = trained_detector
    predictor = Predictor.from_package(run.package_dir)
    upload = detector_client.post(
        "/v1/models/digit-boxes/predict", files={"file": ("canvas.png", _canvas_png(), "image/png")}
    )
    assert upload.status_code == 200, upload.text
    (answer,) = upload.json()["predictions"]
    assert set(answer) == {"boxes"}
    seen = Image.open(io.BytesIO(_canvas_png())).resize((48, 48), Image.Resampling.BOX)
    pixels = np.array(seen)[None]
    expected = predictor.detect(pixels, threshold=0.3)[0].boxes
    assert [b["class"] for b in answer["boxes"]] == [b["class"] for b in expected]
    for box, seen_box in zip(answer["boxes"], expected, strict=True):
        assert set(box) == {"label", "class", "score", "xyxy"}
        assert box["label"] == str(box["class"]) and 0.3 <= box["score"] <= 1
        x0, y0, x1, y1 = box["xyxy"]
        assert 0 <= x0 <= x1 <= 96 and 0 <= y0 <= y1 <= 96  # the uploaded image's pixels
        assert np.allclose(box["xyxy"], np.array(seen_box["xyxy"]) * 2, atol=0.05)  # 48 seen
    body = detector_client.post(
        "/v1/models/digit-boxes/predict",
        content=_canvas_png(),
        headers={"content-type": "image/png"},
    )
    assert body.status_code == 200 and body.json()["predictions"] == [answer]
    wrong = detector_client.post("/v1/models/digit-boxes/predict", json={"inputs": [[1, 2, 3]]})
    assert wrong.status_code == 422 and "does not fit" in wrong.text
    garbage = detector_client.post(
        "/v1/models/digit-boxes/predict", files={"file": ("x.png", b"not a png", "image/png")}
    )
    assert 400 <= garbage.status_code < 500


def test_api_boxes_are_in_the_pixels_of_the_image_given(trained_detector, tmp_path) -> None:
    run, _ = trained_detector
    predictor = Predictor.from_package(run.package_dir)
    path = tmp_path / "canvas.png"
    path.write_bytes(_canvas_png())
    on_file = predictor.detect([path], threshold=0.0)[0].boxes
    seen = Image.open(path).resize((48, 48), Image.Resampling.BOX)
    on_array = predictor.detect(np.array(seen)[None], threshold=0.0)[0].boxes
    assert on_file and len(on_file) == len(on_array)
    assert np.allclose(
        np.array(on_file[0]["xyxy"]), np.array(on_array[0]["xyxy"]) * 2, atol=0.05
    )  # 96 px given, 48 px seen
    assert predictor.predict([path])[0].to_json() == {"boxes": predictor.detect([path])[0].boxes}


def test_a_threshold_in_the_query_chooses_the_lowest_box_score(detector_client) -> None:
    def boxes(query: str) -> list[dict]:
        answer = detector_client.post(
            f"/v1/models/digit-boxes/predict{query}",
            content=_canvas_png(),
            headers={"content-type": "image/png"},
        )
        assert answer.status_code == 200, answer.text
        return answer.json()["predictions"][0]["boxes"]

    default, everything = boxes(""), boxes("?threshold=0")
    assert len(everything) > len(default)  # the default keeps scores of 0.3 and more
    assert everything[: len(default)] == default
    assert min(b["score"] for b in everything) < 0.3
    assert boxes("?threshold=0.3") == default
    for bad in ("2", "x", "-0.1"):
        wrong = detector_client.post(
            f"/v1/models/digit-boxes/predict?threshold={bad}",
            content=_canvas_png(),
            headers={"content-type": "image/png"},
        )
        assert wrong.status_code == 422 and "a number from 0 to 1" in wrong.text
