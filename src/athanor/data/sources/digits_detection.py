"""``digits-detection``: MNIST digits scattered on larger grey canvases, with their boxes.

A synthetic object-detection dataset that trains in minutes on a CPU: each canvas holds one
to four digits of varied sizes, which may overlap a little. Training canvases are composed
from MNIST's training digits, the official test canvases from its test digits, so no digit
is seen on both sides. The same seed always gives the same canvases and boxes.
"""

from __future__ import annotations

import numpy as np

from athanor.data.catalog import DatasetEntry, register_dataset
from athanor.data.download import fetch
from athanor.data.idx import read_idx_file
from athanor.data.raw import RawDataset
from athanor.data.sources.mnist import MNIST_FILES
from athanor.settings import Settings

CANVAS = 96
"""Side of the square canvases, in pixels."""
TRAIN_CANVASES = 6000
TEST_CANVASES = 1000
DIGIT_SIZES = (14, 40)
"""Smallest and largest side of a placed digit (before its box is cut to the ink), pixels."""
MAX_DIGITS = 4
MAX_OVERLAP = 0.25
"""Largest IoU a new digit's box may have with a digit already on the canvas."""
INK_THRESHOLD = 48
"""Pixels at least this bright belong to a digit's box (drops the faint anti-aliased rim)."""
SEED = 17


def compose_canvases(
    digits: np.ndarray,
    labels: np.ndarray,
    count: int,
    *,
    seed: int,
    canvas: int = CANVAS,
    sizes: tuple[int, int] = DIGIT_SIZES,
    max_digits: int = MAX_DIGITS,
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` canvases with digits drawn from ``digits`` and their boxes.

    Args:
        digits: ``uint8 [N, 28, 28]`` source digits (white on black).
        labels: their classes ``[N]``.
        count: canvases to compose.
        seed: the same seed gives the same canvases.
        canvas: side of the square canvases.
        sizes: smallest and largest digit side.
        max_digits: most digits per canvas (at least one each).

    Returns:
        ``uint8 [count, 1, canvas, canvas]`` images and ``float32 [count, max_digits, 5]``
        targets: rows ``(class, x0, y0, x1, y1)`` with coordinates as fractions of the
        canvas, class -1 on unused rows.
    """
    from PIL import Image

    rng = np.random.default_rng(seed)
    images = np.zeros((count, 1, canvas, canvas), dtype=np.uint8)
    targets = np.full((count, max_digits, 5), -1.0, dtype=np.float32)
    for index in range(count):
        placed: list[tuple[float, float, float, float]] = []
        for _ in range(int(rng.integers(1, max_digits + 1))):
            source = int(rng.integers(len(digits)))
            side = int(rng.integers(sizes[0], sizes[1] + 1))
            glyph = np.asarray(
                Image.fromarray(digits[source]).resize((side, side), Image.Resampling.BILINEAR)
            )
            rows = np.flatnonzero((glyph >= INK_THRESHOLD).any(axis=1))
            cols = np.flatnonzero((glyph >= INK_THRESHOLD).any(axis=0))
            if not len(rows):
                continue
            glyph = glyph[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
            height, width = glyph.shape
            for _attempt in range(20):  # find a place that overlaps little
                top = int(rng.integers(0, canvas - height + 1))
                left = int(rng.integers(0, canvas - width + 1))
                box = (left, top, left + width, top + height)
                if all(_iou(box, other) <= MAX_OVERLAP for other in placed):
                    break
            else:
                continue
            region = images[index, 0, top : top + height, left : left + width]
            np.maximum(region, glyph, out=region)
            targets[index, len(placed)] = (int(labels[source]), *(v / canvas for v in box))
            placed.append(box)
    return images, targets


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def load_digits_detection(settings: Settings | None) -> RawDataset:
    """Compose the training and test canvases from the MNIST files (mirror or download)."""
    arrays, origin = {}, {}
    for key, remote in MNIST_FILES.items():
        path = fetch(remote, settings=settings)
        arrays[key] = read_idx_file(path)
        origin[remote.name] = str(path)
    x, y = compose_canvases(
        arrays["train_images"], arrays["train_labels"], TRAIN_CANVASES, seed=SEED
    )
    x_test, y_test = compose_canvases(
        arrays["test_images"], arrays["test_labels"], TEST_CANVASES, seed=SEED + 1
    )
    return RawDataset(
        name="digits-detection",
        kind="image",
        task="detection",
        x=x,
        y=y,
        x_test=x_test,
        y_test=y_test,
        classes=[str(d) for d in range(10)],
        origin=origin,
    )


register_dataset(
    DatasetEntry(
        name="digits-detection",
        task="detection",
        kind="image",
        size=(
            f"{TRAIN_CANVASES:,} train + {TEST_CANVASES:,} test, 1x{CANVAS}x{CANVAS}, "
            f"1-{MAX_DIGITS} boxes each, 10 classes"
        ),
        license="CC BY-SA 3.0 (MNIST digits: Y. LeCun, C. Cortes)",
        source="composed from http://yann.lecun.com/exdb/mnist/",
        description="MNIST digits of varied sizes placed on larger canvases, with boxes.",
        loader=load_digits_detection,
    )
)
