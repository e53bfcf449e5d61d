"""digits-detection: canvases and boxes by seed, prepared box targets, box augmentation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from athanor.data.box_augment import augment_boxed_batch
from athanor.data.prepare import prepare
from athanor.data.raw import RawDataset
from athanor.data.sources.digits_detection import INK_THRESHOLD, compose_canvases
from athanor.errors import DataError
from athanor.spec.data import DataSpec


def test_canvases_and_boxes_follow_the_seed_and_frame_the_ink(mnist_raw) -> None:
    digits, labels = mnist_raw.x[:300, 0], mnist_raw.y[:300]
    images, targets = compose_canvases(digits, labels, 40, seed=5, canvas=64)
    again, same_targets = compose_canvases(digits, labels, 40, seed=5, canvas=64)
    other, _ = compose_canvases(digits, labels, 40, seed=6, canvas=64)
    assert np.array_equal(images, again) and np.array_equal(targets, same_targets)
    assert not np.array_equal(images, other)
    assert images.shape == (40, 1, 64, 64) and targets.shape == (40, 4, 5)
    counts = (targets[:, :, 0] >= 0).sum(axis=1)
    assert counts.min() >= 1 and counts.max() <= 4 and len(set(counts.tolist())) > 1
    boxes = targets[targets[:, :, 0] >= 0]
    assert set(boxes[:, 0].astype(int).tolist()) <= set(range(10))
    sides = (boxes[:, 3] - boxes[:, 1]) * 64
    assert sides.min() < 12 and sides.max() > 20  # varied sizes
    ink = images[:, 0] >= INK_THRESHOLD
    for image, rows in zip(ink, targets, strict=True):
        covered = np.zeros_like(image)
        for _, x0, y0, x1, y1 in rows[rows[:, 0] >= 0] * [1, 64, 64, 64, 64]:
            covered[round(y0) : round(y1), round(x0) : round(x1)] = True
        assert not (image & ~covered).any()  # every inked pixel lies in a box


def test_prepared_splits_keep_each_images_boxes_in_input_pixels(mnist_raw) -> None:
    x, y = compose_canvases(mnist_raw.x[:300, 0], mnist_raw.y[:300], 70, seed=1)
    raw = RawDataset(
        name="digits-detection", kind="image", task="detection", x=x, y=y,
        classes=[str(d) for d in range(10)],
    )  # fmt: skip
    settings = {"dataset": "digits-detection", "split": {"val": 20, "test": 10}}
    spec = DataSpec(**settings, image={"size": [48, 48]})
    prepared = prepare(spec, seed=0, raw=raw)
    assert prepared.schema.task == "detection" and prepared.schema.output_shape == (14, 12, 12)
    assert prepared.train.x.shape == (40, 1, 48, 48) and prepared.train.y.shape == (40, 4, 5)
    assert prepared.record["boxes"]["train"] == int((prepared.train.y[..., 0] >= 0).sum())
    valid = prepared.train.y[..., 0] >= 0
    assert valid.any(dim=1).all()
    coords = prepared.train.y[valid][:, 1:]
    assert coords.min() >= 0 and coords.max() <= 48
    x, y = next(iter(prepared.batches("train", 8, shuffle=True).epoch(0)))
    assert x.shape == (8, 1, 48, 48) and y.shape == (8, 4, 5)
    with pytest.raises(DataError, match="rotation"):
        prepare(DataSpec(**settings, image={"augment": {"rotation": 10}}), seed=0, raw=raw)


def test_flip_zoom_and_shift_move_boxes_with_the_pixels() -> None:
    x = torch.zeros(2, 1, 32, 32)
    x[:, :, 8:16, 4:12] = 1.0  # one bright box: x 4..12, y 8..16
    y = torch.tensor([[[0, 4, 8, 12, 16], [-1, -1, -1, -1, -1]]] * 2, dtype=torch.float32)
    generator = torch.Generator().manual_seed(3)
    for options in ({"flip": True}, {"scale": 0.3}, {"crop": 4}, {"scale": 0.3, "crop": 4}):
        for _ in range(4):
            moved, boxes = augment_boxed_batch(x, y, options, generator)
            for image, rows in zip(moved, boxes, strict=True):
                assert rows[1, 0] == -1
                _, x0, y0, x1, y1 = rows[0].tolist()
                inside = image[0, round(y0) : round(y1), round(x0) : round(x1)]
                around = image[0, int(y0) : math.ceil(y1) + 1, int(x0) : math.ceil(x1) + 1]
                assert inside.mean() > 0.8 and image.sum() <= around.sum() + 1e-3
    mirrored, boxes = augment_boxed_batch(x, y, {"flip": True}, torch.Generator().manual_seed(0))
    flipped = [row[0, 1].item() == 20 for row in boxes]
    assert any(flipped)  # some image mirrored: x 4..12 -> 20..28, pixels alike
    for image, rows, was_flipped in zip(mirrored, boxes, flipped, strict=True):
        expected = x[0].flip(-1) if was_flipped else x[0]
        assert torch.allclose(image, expected, atol=1e-5)
        assert rows[0].tolist() == ([0, 20, 8, 28, 16] if was_flipped else [0, 4, 8, 12, 16])
