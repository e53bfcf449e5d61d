"""Boxes as training targets: one padded array per split, so batches stay plain tensors.

A detection dataset's targets are ``float32 [N, M, 5]``: for each image, up to ``M`` rows
``(class, x0, y0, x1, y1)``; rows past an image's boxes have class -1. Slicing, shuffling,
moving to a device and checkpoints then work as for any other target, and every image
keeps its own boxes. In a :class:`~athanor.data.raw.RawDataset` the coordinates are
fractions of the image's width and height (images may still be resized); once prepared
they are pixels of the network's input.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from athanor.data.boxes import Box, BoxDataset
from athanor.data.raw import RawDataset
from athanor.errors import DataError

TARGET_FIELDS = 5
PADDING = -1.0
"""The class of unused target rows."""
MAX_TARGET_BOXES = 128
"""Most boxes an image keeps for training; more are refused (name the image)."""


def pad_targets(rows: Sequence[np.ndarray], width: int | None = None) -> np.ndarray:
    """Stack per-image ``[k, 5]`` rows into ``float32 [N, M, 5]`` padded with class -1.

    Args:
        rows: each image's boxes.
        width: ``M`` (default the most boxes of any image, at least 1).
    """
    most = max((len(r) for r in rows), default=0)
    width = max(1, most if width is None else width)
    out = np.full((len(rows), width, TARGET_FIELDS), PADDING, dtype=np.float32)
    for index, row in enumerate(rows):
        if len(row):
            out[index, : len(row)] = row
    return out


def valid_rows(targets: torch.Tensor) -> torch.Tensor:
    """``bool [..., M]``: which target rows hold a box."""
    return targets[..., 0] >= 0


def image_boxes(targets: np.ndarray | torch.Tensor) -> list[list[Box]]:
    """The boxes of each image of padded targets (coordinates as they are)."""
    array = targets.detach().cpu().numpy() if isinstance(targets, torch.Tensor) else targets
    return [
        [Box(float(x0), float(y0), float(x1), float(y1), int(c)) for c, x0, y0, x1, y1 in image]
        for image in (rows[rows[:, 0] >= 0] for rows in array)
    ]


def raw_from_boxes(dataset: BoxDataset, name: str, *, version: str | None = None) -> RawDataset:
    """A detection :class:`RawDataset` from images with boxes (an imported version).

    Images are decoded from ``dataset.root``; boxes become fractions of their image's size.
    Images whose ``split`` is ``test`` form the official test split when there are any; a
    source with only ``train`` and ``val`` (YOLO's usual layout, e.g. coco128) has its ``val``
    images held out as the test split instead, so the model is scored on them, never trained
    on them (the spec's ``data.split.val`` carves validation from the rest).

    This is where imported detection versions join training: the version loader
    (:func:`athanor.data.versions.load_version`) returns
    ``raw_from_boxes(load_boxes(folder), record.name, version=record.ref)``.

    Raises:
        DataError: an unreadable image or more than :data:`MAX_TARGET_BOXES` boxes on one.
    """
    from athanor.data.images import ImageCollection, decode_image_file
    from athanor.data.raw import collection_or_array

    parts: dict[bool, tuple[list[np.ndarray], list[np.ndarray]]] = {False: ([], []), True: ([], [])}
    splits = {image.split for image in dataset.images}
    held_out = "test" if "test" in splits else "val" if "train" in splits else "test"
    for image in dataset.images:
        if len(image.boxes) > MAX_TARGET_BOXES:
            raise DataError(
                f"{image.file}: {len(image.boxes)} boxes; training takes at most "
                f"{MAX_TARGET_BOXES} per image"
            )
        pixels = decode_image_file(dataset.path_of(image))
        height, width = pixels.shape[1:]
        rows = np.array(
            [
                (b.label, b.x0 / width, b.y0 / height, b.x1 / width, b.y1 / height)
                for b in image.boxes
            ],
            dtype=np.float32,
        ).reshape(-1, TARGET_FIELDS)
        images, targets = parts[image.split == held_out]
        images.append(pixels)
        targets.append(rows)
    if not parts[False][0]:
        raise DataError(f"dataset '{name}': no images to train on")
    most = max(len(r) for images, rows in parts.values() for r in rows) if dataset.images else 1
    train_images, train_rows = parts[False]
    test_images, test_rows = parts[True]
    return RawDataset(
        name=name,
        kind="image",
        task="detection",
        x=collection_or_array(ImageCollection.from_arrays(train_images)),
        y=pad_targets(train_rows, most),
        x_test=(
            collection_or_array(ImageCollection.from_arrays(test_images)) if test_images else None
        ),
        y_test=pad_targets(test_rows, most) if test_images else None,
        classes=list(dataset.classes),
        origin={name: str(dataset.root)},
        version=version,
    )
