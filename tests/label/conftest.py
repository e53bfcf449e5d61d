"""Real data for the labeling tests: MNIST digits written as PNG files, and a few texts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import MIRROR

REVIEWS = {
    "pos": ["A wonderful film, warm and funny.", "Great acting and a lovely story."],
    "neg": ["Dull, slow and far too long.", "A boring mess with a terrible ending."],
}
UNLABELED_TEXTS = ["Funny and warm, I loved it.", "Terrible: slow and boring.", "Lovely."]


def mnist_digits(count: int, start: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """MNIST training images ``[count, 28, 28]`` and their labels, from the mirror."""
    from athanor.data.idx import read_idx_file

    if MIRROR is None or not (MIRROR / "mnist" / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip("MNIST is not in ATHANOR_DATA_MIRROR")
    images = read_idx_file(MIRROR / "mnist" / "train-images-idx3-ubyte.gz")
    labels = read_idx_file(MIRROR / "mnist" / "train-labels-idx1-ubyte.gz")
    return images[start : start + count], labels[start : start + count].astype(np.int64)


def write_mnist_pngs(folder: Path, count: int, *, labeled: int = 0) -> np.ndarray:
    """``count`` MNIST digits as PNG files: the first ``labeled`` in class folders
    (``folder/<digit>/``), the rest unlabeled beside them; returns every digit's label."""
    from PIL import Image

    images, labels = mnist_digits(count)
    folder.mkdir(parents=True, exist_ok=True)
    for index, (image, label) in enumerate(zip(images, labels, strict=True)):
        target = folder / str(label) if index < labeled else folder
        target.mkdir(exist_ok=True)
        Image.fromarray(image).save(target / f"{index:05d}.png")
    return labels


def write_texts(folder: Path) -> Path:
    """Two class folders of reviews and three unlabeled reviews beside them."""
    for label, texts in REVIEWS.items():
        (folder / label).mkdir(parents=True)
        for index, text in enumerate(texts):
            (folder / label / f"{index}.txt").write_text(text)
    for index, text in enumerate(UNLABELED_TEXTS):
        (folder / f"u{index}.txt").write_text(text)
    return folder


def write_digit_canvases(folder: Path, count: int, *, box_format: str = "coco") -> Path:
    """``count`` digits-detection canvases (96 px, composed from the mirror's MNIST digits)
    as PNG files with their boxes, written in ``box_format`` into the new ``folder``."""
    from PIL import Image

    from athanor.data.box_formats import write_boxes
    from athanor.data.boxes import Box, BoxDataset, BoxedImage
    from athanor.data.sources.digits_detection import CANVAS, compose_canvases

    digits, labels = mnist_digits(200)
    canvases, targets = compose_canvases(digits, labels, count, seed=5)
    pictures = folder.parent / f".{folder.name}-pictures"
    pictures.mkdir(parents=True)
    images = []
    for index, (canvas, rows) in enumerate(zip(canvases, targets, strict=True)):
        file = f"canvas{index:03d}.png"
        Image.fromarray(canvas[0]).save(pictures / file)
        boxes = tuple(
            Box(*(round(float(v) * CANVAS) for v in row[1:]), label=int(row[0]))
            for row in rows
            if row[0] >= 0
        )
        images.append(BoxedImage(file, CANVAS, CANVAS, boxes))
    dataset = BoxDataset(tuple(str(d) for d in range(10)), tuple(images), root=pictures)
    write_boxes(dataset, box_format, folder)
    return folder
