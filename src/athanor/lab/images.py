"""The images the vision labs work on: an upload (decoded within the project's limits) or a
sample of a catalog image dataset, each checked and bounded before any computation."""

from __future__ import annotations

import base64
import binascii
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from athanor.data.catalog import catalog
from athanor.data.image_decoding import decoded_image
from athanor.errors import UserError
from athanor.settings import Settings

MAX_SIDE = 256
"""Uploads larger than this on a side are shrunk to it (aspect kept): bounded work per request."""
SAMPLE_DATASETS = ("mnist", "digits", "fashion-mnist", "cifar10")
"""Catalog image datasets whose samples the labs offer (those on the server load)."""


class LabInputError(UserError):
    """A lab input out of its range: the message names the field and what is valid."""


@dataclass(frozen=True)
class LabImage:
    """An image for the labs: ``pixels`` is ``uint8 [C, H, W]`` (C is 1 or 3).

    Attributes:
        pixels: the image.
        source: what it is, for captions (``mnist #7`` or ``upload``).
        label: the sample's class, when it came from a labeled dataset.
    """

    pixels: np.ndarray
    source: str
    label: str | None = None

    def grey(self) -> np.ndarray:
        """``float32 [H, W]`` in 0..1: the channels' mean (luma weights matter little here)."""
        return (self.pixels.astype(np.float32).mean(axis=0) / 255.0).astype(np.float32)

    def pil(self) -> Any:
        """The image as a PIL image (``L`` or ``RGB``), as predictors take it."""
        from PIL import Image

        if self.pixels.shape[0] == 1:
            return Image.fromarray(self.pixels[0], "L")
        return Image.fromarray(np.ascontiguousarray(self.pixels.transpose(1, 2, 0)), "RGB")


def uploaded_image(data: str, field: str = "image") -> LabImage:
    """An uploaded image given as base64 (optionally a ``data:`` URL), decoded by
    :func:`~athanor.data.image_decoding.decoded_image` and shrunk to :data:`MAX_SIDE`.

    Raises:
        LabInputError: not base64, naming ``field``.
        DataError: not a readable image; ImageTooLarge: above the pixel limit.
    """
    from PIL import Image

    encoded = data.partition(",")[2] if data.startswith("data:") else data
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise LabInputError(f"{field}: not base64 image data (a PNG, JPEG, ... file)") from None
    with decoded_image(raw, field) as image:
        rgb = image.mode in ("RGB", "RGBA", "P", "CMYK", "YCbCr", "LAB", "HSV")
        converted = image.convert("RGB" if rgb else "L")
        converted.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.BOX)
        array = np.array(converted, dtype=np.uint8)
    pixels = array.transpose(2, 0, 1) if array.ndim == 3 else array[None]
    return LabImage(np.ascontiguousarray(pixels), "upload")


_RAW: dict[tuple[str, tuple[str, ...]], Any] = {}
_RAW_LOCK = threading.Lock()


def _raw_dataset(name: str, settings: Settings) -> Any:
    """The dataset as loaded once per process (MNIST takes seconds to read)."""
    key = (name, tuple(str(path) for path in settings.data_mirrors))
    with _RAW_LOCK:
        if key not in _RAW:
            _RAW[key] = catalog()[name].load(settings)
        return _RAW[key]


def dataset_sample(dataset: str, index: int, settings: Settings) -> LabImage:
    """Sample ``index`` of a catalog image dataset's test images (its images when it has no
    official test set).

    Raises:
        LabInputError: a dataset not in :data:`SAMPLE_DATASETS` or an index out of range.
        DatasetUnavailable: the dataset's files are not on this server.
    """
    if dataset not in SAMPLE_DATASETS:
        raise LabInputError(f"dataset: {dataset!r} is not one of {', '.join(SAMPLE_DATASETS)}")
    raw = _raw_dataset(dataset, settings)
    images = raw.x_test if raw.x_test is not None else raw.x
    labels = raw.y_test if raw.x_test is not None else raw.y
    if not 0 <= index < len(images):
        raise LabInputError(f"index: {index} is not from 0 to {len(images) - 1} ({dataset})")
    pixels = np.asarray(images[index], dtype=np.uint8)
    if pixels.ndim == 2:
        pixels = pixels[None]
    label = None
    if labels is not None:
        value = int(labels[index])
        label = raw.classes[value] if raw.classes else str(value)
    return LabImage(np.ascontiguousarray(pixels), f"{dataset} #{index}", label)
