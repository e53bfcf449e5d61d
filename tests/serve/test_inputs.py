"""Prediction inputs: images decoded within the pixel limit, in the server and in batches."""

from __future__ import annotations

import base64
import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from athanor.errors import PredictionInputError, ResourceLimitError
from athanor.serve import Predictor
from athanor.serve.app import create_app
from athanor.serve.batch_prediction import predict_files
from athanor.serve.inputs import PredictionInputTooLarge, decode_image
from athanor.spec.serving import ServingSpec
from tests.resource_bombs import EPS, png_bomb
from tests.serve.conftest import running

BOMB = png_bomb(20_000, 20_000)


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def test_decode_image_refuses_a_bomb_a_disguised_format_and_a_huge_pil_image(
    trained_digits, monkeypatch: pytest.MonkeyPatch
) -> None:
    run, _ = trained_digits
    schema = Predictor.from_package(run.package_dir).schema
    with pytest.raises(PredictionInputTooLarge, match="upload.png: the image has 400,000,000"):
        decode_image(BOMB, schema, name="upload.png")
    with pytest.raises(PredictionInputError, match="eps.png: not a readable image"):
        decode_image(EPS, schema, name="eps.png")
    monkeypatch.setenv("ATHANOR_MAX_IMAGE_PIXELS", "100")
    with pytest.raises(PredictionInputTooLarge, match="input 0: the image has 20x10 = 200"):
        decode_image(Image.new("L", (20, 10)), schema, name="input 0")


def test_the_model_server_answers_413_naming_the_file_and_the_limit(
    trained_digits, digits_raw
) -> None:
    _run, settings = trained_digits
    config = ServingSpec(max_body_mb=1)
    with running(create_app("digits-cnn", config=config, settings=settings)) as client:
        url = "/v1/models/digits-cnn/predict"
        started = time.perf_counter()
        files = [("files", ("huge.png", BOMB, "image/png"))]
        upload = client.post(url, files=files)
        assert upload.status_code == 413, upload.text
        detail = upload.json()["detail"]
        assert detail.startswith("huge.png: the image has 400,000,000 pixels")
        assert "limit of 50,000,000 pixels" in detail
        b64 = client.post(url, json={"inputs": [{"b64": base64.b64encode(BOMB).decode()}]})
        assert b64.status_code == 413 and b64.json()["detail"].startswith("input 0: the image")
        raw = client.post(url, content=BOMB, headers={"content-type": "image/png"})
        assert raw.status_code == 413, raw.text
        assert time.perf_counter() - started < 10  # three refusals, none decoded
        disguised = client.post(url, files=[("files", ("cat.png", EPS, "image/png"))])
        assert disguised.status_code == 422
        assert "cat.png: not a readable image" in disguised.json()["detail"]
        fine = client.post(url, files=[("files", ("7.png", png(digits_raw.x[7, 0]), "image/png"))])
        assert fine.status_code == 200, fine.text  # the server goes on serving


def test_a_batch_goes_on_past_a_huge_image_and_lists_it(
    trained_digits, digits_raw, tmp_path: Path
) -> None:
    run, _ = trained_digits
    predictor = Predictor.from_package(run.package_dir)
    folder = tmp_path / "inputs"
    folder.mkdir()
    for index in range(3):
        (folder / f"{index}.png").write_bytes(png(digits_raw.x[index, 0]))
    (folder / "1-huge.png").write_bytes(BOMB)
    (folder / "2-eps.png").write_bytes(EPS)
    summary = predict_files(predictor, [folder], tmp_path / "out.csv")
    assert summary.predicted == 3
    failures = {Path(item).name: reason for item, reason in summary.failures}
    assert set(failures) == {"1-huge.png", "2-eps.png"}
    assert "the image has 400,000,000 pixels, more than the limit" in failures["1-huge.png"]
    assert "not a readable image" in failures["2-eps.png"]
    assert issubclass(PredictionInputTooLarge, ResourceLimitError)


def _table_schema():
    from athanor.data.schema import ColumnSchema, InputSchema, Schema

    columns = [
        ColumnSchema(name="rooms", type="numeric"),
        ColumnSchema(name="city", type="categorical"),
    ]
    return Schema(
        task="regression",
        target="price",
        input=InputSchema(kind="tabular", shape=[3], columns=columns),
    )


def test_table_rows_are_read_by_header_in_any_order_or_in_the_models_order() -> None:
    from athanor.data.tables import TableData
    from athanor.serve.inputs import concatenate, header_given, iter_table_rows, parse_table_text

    schema = _table_schema()
    by_name = list(
        iter_table_rows(["id,city,price,rooms", "7,Lyon,10,3", "8,,,"], schema, name="f")
    )
    assert by_name == [
        (2, {"id": "7", "city": "Lyon", "price": "10", "rooms": "3"}),
        (3, {"id": "8", "city": "", "price": "", "rooms": ""}),
    ]
    plain = list(iter_table_rows(["3,Lyon", "4,Nice,extra"], schema, name="f"))
    assert plain[0] == (1, {"rooms": "3", "city": "Lyon"})
    assert str(plain[1][1]) == (
        "f:2: 3 values and no header; without a header a row holds the model's 2 columns in "
        "this order: rooms, city (or add a header row naming them)"
    )
    with pytest.raises(
        PredictionInputError,
        match=r"f:1: the header lacks the model's column\(s\) city; the model takes rooms, city",
    ):
        list(iter_table_rows(["rooms,town", "3,Lyon"], schema, name="f"))
    # A first row that names nothing of the model is a header only when the client says so.
    assert header_given("text/csv; header=absent") is False
    assert header_given('text/csv; charset=utf-8; header="present"') is True
    assert header_given("text/csv") is None
    with pytest.raises(PredictionInputError, match="the header lacks"):
        list(iter_table_rows(["a,b", "3,Lyon"], schema, name="f", header=True))

    first, _ = parse_table_text("city,rooms\nLyon,3\n", schema, name="a.csv")
    second, labels = parse_table_text("4,\n5,Nice\n", schema, name="b.csv", header=False)
    assert labels == ["b.csv:1", "b.csv:2"]
    joined = concatenate([first, second])
    assert isinstance(joined, TableData) and len(joined) == 3
    assert joined.values["rooms"].tolist() == [3.0, 4.0, 5.0]
    assert joined.values["city"].tolist() == ["Lyon", None, "Nice"]
    with pytest.raises(PredictionInputError, match="b.csv:1: column rooms: 'x' is not a number"):
        parse_table_text("x,Lyon\n", schema, name="b.csv")


def expected_pixels(image: Image.Image, channels: int, size: int, background: str | None):
    """What a model of ``channels`` x ``size`` x ``size`` inputs trained on a ``background``
    sees: the image converted and resized by Pillow, inverted when its border's mean is on
    the other side of 127.5 than the training images'."""
    image = image.convert("L" if channels == 1 else "RGB")
    if image.size != (size, size):
        shrinking = image.size[0] > size or image.size[1] > size
        resample = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
        image = image.resize((size, size), resample)
    array = np.array(image)
    array = array[None] if channels == 1 else array.transpose(2, 0, 1)
    if background is not None:
        border = np.concatenate(
            [
                array[:, 0].ravel(),
                array[:, -1].ravel(),
                array[..., 0].ravel(),
                array[..., -1].ravel(),
            ]
        )
        if (border.mean() > 127.5) != (background == "light"):
            array = 255 - array
    return array


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("background", ["dark", "light", None])
@pytest.mark.parametrize(("mode", "size"), [("L", 8), ("L", 5), ("RGB", 8), ("RGBA", 12), ("P", 8)])
@pytest.mark.parametrize("border", [127, 128])
def test_decoded_pixels_are_converted_resized_and_inverted_to_the_training_images(
    channels: int, background: str | None, mode: str, size: int, border: int
) -> None:
    from athanor.data.schema import InputSchema, Schema

    schema = Schema(
        task="classification",
        input=InputSchema(kind="image", shape=[channels, 8, 8], background=background),
        classes=["a", "b"],
    )
    rng = np.random.default_rng(size + channels)
    pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    # A grey border whose mean is just off 127.5 (one pixel apart from the rest), so that
    # the side it is on is told exactly.
    for edge in (pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]):
        edge[:] = border
    pixels[0, 0] = 255 - border
    image = Image.fromarray(pixels).convert(mode)
    decoded = decode_image(_png_of(image), schema)
    assert decoded.dtype == np.uint8 and decoded.flags.writeable and decoded.flags.c_contiguous
    assert decoded.shape == (channels, 8, 8)
    assert np.array_equal(decoded, expected_pixels(image, channels, 8, background))


def _png_of(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()
