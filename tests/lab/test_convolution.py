"""The convolution lab's computation against references written out in the test."""

from __future__ import annotations

import numpy as np
import pytest

from athanor.lab.convolution import (
    Pooling,
    convolve,
    custom_kernel,
    named_kernel,
    output_size,
    size_formula,
)
from athanor.lab.images import LabInputError, dataset_sample, uploaded_image

SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)


def _reference(image: np.ndarray, kernel: np.ndarray, stride: int, padding: int, dilation: int):
    """The cross-correlation by its definition: a loop over output pixels and kernel taps."""
    padded = np.pad(image.astype(np.float64), padding)
    k_h, k_w = kernel.shape
    out_h = (padded.shape[0] - dilation * (k_h - 1) - 1) // stride + 1
    out_w = (padded.shape[1] - dilation * (k_w - 1) - 1) // stride + 1
    out = np.zeros((out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            for u in range(k_h):
                for v in range(k_w):
                    out[i, j] += (
                        kernel[u, v] * padded[i * stride + u * dilation, j * stride + v * dilation]
                    )
    return out


def test_sobel_on_a_digit_matches_the_definition(mirror) -> None:
    from athanor.settings import current_settings

    digit = dataset_sample("mnist", 0, current_settings())  # the mirror is in the environment
    assert digit.label == "7" and digit.pixels.shape == (1, 28, 28)
    image = digit.grey()
    result = convolve(image, named_kernel("sobel_x"), padding=1)
    assert result.output.shape == (28, 28)
    np.testing.assert_allclose(result.output, _reference(image, SOBEL_X, 1, 1, 1), atol=1e-5)
    # A vertical edge gives a strong response where the stroke begins and ends.
    assert result.output.max() > 2 and result.output.min() < -2
    assert result.multiplications == 28 * 28 * 9 and result.additions == 28 * 28 * 8


@pytest.mark.parametrize(("stride", "padding", "dilation"), [(2, 0, 1), (1, 2, 2), (3, 1, 2)])
def test_stride_padding_and_dilation_follow_the_formula(stride, padding, dilation) -> None:
    rng = np.random.default_rng(0)
    image = rng.random((13, 17), dtype=np.float32)
    kernel = custom_kernel(rng.normal(size=(3, 5)).round(2).tolist())
    result = convolve(image, kernel, stride=stride, padding=padding, dilation=dilation)
    expected = _reference(image, kernel.astype(np.float64), stride, padding, dilation)
    np.testing.assert_allclose(result.output, expected, atol=1e-4)
    height = output_size(13, 3, stride, padding, dilation)
    width = output_size(17, 5, stride, padding, dilation)
    assert result.output.shape == (height, width)
    assert result.formulas[0].endswith(f"= {height}") and result.multiplications == (
        height * width * 15
    )


def test_formula_reads_with_the_numbers() -> None:
    assert size_formula(28, 5, 2, 1, 1) == "⌊(28 + 2·1 − 1·(5 − 1) − 1)/2⌋ + 1 = ⌊25/2⌋ + 1 = 13"


def test_pooling_and_its_counts() -> None:
    image = np.arange(36, dtype=np.float32).reshape(6, 6) / 36
    identity = custom_kernel([[1.0]])
    maxed = convolve(image, identity, pooling=Pooling("max", 2))
    np.testing.assert_allclose(maxed.pooled, image.reshape(3, 2, 3, 2).max(axis=(1, 3)))
    assert maxed.pool_operations == {"comparisons": 9 * 3}
    averaged = convolve(image, identity, pooling=Pooling("avg", 3))
    np.testing.assert_allclose(averaged.pooled, image.reshape(2, 3, 2, 3).mean(axis=(1, 3)))
    assert averaged.pool_operations == {"additions": 4 * 8, "divisions": 4}


def test_blur_kernels_sum_to_one() -> None:
    for size in (3, 5, 7):
        for name in ("mean", "gaussian"):
            kernel = named_kernel(name, size)
            assert kernel.shape == (size, size) and abs(float(kernel.sum()) - 1) < 1e-5
    gaussian = named_kernel("gaussian", 5)
    assert gaussian[2, 2] == gaussian.max() and gaussian[0, 0] == gaussian.min()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: named_kernel("emboss"), "kernel: 'emboss' is not one of sobel_x"),
        (lambda: named_kernel("mean", 4), "size: 4 is not an odd size from 3 to 7"),
        (lambda: custom_kernel([[1.0] * 8]), "every row needs the same count, 1 to 7"),
        (lambda: custom_kernel([[1.0, 2.0], [3.0]]), "every row needs the same count"),
        (lambda: custom_kernel([[float("nan")]]), "weights: every weight must be a number"),
        (lambda: convolve(np.zeros((8, 8)), np.ones((3, 3)), stride=9), "stride: 9 is not"),
        (lambda: convolve(np.zeros((8, 8)), np.ones((3, 3)), dilation=0), "dilation: 0 is not"),
        (lambda: convolve(np.zeros((4, 4)), np.ones((3, 3)), dilation=3), "output has no pixel"),
        (lambda: Pooling("median", 2), "pool: 'median' is not one of max, avg"),
        (lambda: uploaded_image("not base64!"), "image: not base64"),
        (lambda: dataset_sample("iris", 0, None), "dataset: 'iris' is not one of mnist"),
    ],
)
def test_inputs_out_of_range_name_the_field(call, message: str) -> None:
    with pytest.raises(LabInputError, match=message):
        call()


def test_uploads_are_decoded_within_limits_and_shrunk(monkeypatch) -> None:
    import base64
    import io

    from PIL import Image

    from athanor.data.image_decoding import ImageTooLarge

    buffer = io.BytesIO()
    Image.new("RGB", (600, 300), (200, 10, 10)).save(buffer, "PNG")
    encoded = base64.b64encode(buffer.getvalue()).decode()
    image = uploaded_image(f"data:image/png;base64,{encoded}")
    assert image.pixels.shape == (3, 128, 256) and image.source == "upload"
    monkeypatch.setenv("ATHANOR_MAX_IMAGE_PIXELS", "1000")
    with pytest.raises(ImageTooLarge, match="more than the limit of 1,000 pixels"):
        uploaded_image(encoded)
