"""Images with boxes (boxes.json) become a detection dataset that prepares and trains."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from athanor.data.box_targets import image_boxes, pad_targets, raw_from_boxes
from athanor.data.boxes import Box, BoxDataset, BoxedImage, load_boxes, save_boxes
from athanor.data.prepare import prepare
from athanor.spec.data import DataSpec


def test_a_saved_box_dataset_prepares_with_boxes_in_input_pixels(tmp_path: Path) -> None:
    images = []
    for index in range(12):
        width, height = (80, 40) if index % 2 else (40, 40)
        pixels = np.zeros((height, width, 3), dtype=np.uint8)
        pixels[10:30, 5:25] = 255
        Image.fromarray(pixels).save(tmp_path / f"{index}.png")
        boxes = (Box(5, 10, 25, 30, label=index % 3),)
        split = "test" if index >= 10 else None
        images.append(BoxedImage(f"{index}.png", width, height, boxes, split=split))
    save_boxes(BoxDataset(("cat", "dog", "owl"), tuple(images)), tmp_path)

    raw = raw_from_boxes(load_boxes(tmp_path), "pets", version="pets@1")
    assert raw.task == "detection" and raw.classes == ["cat", "dog", "owl"]
    assert len(raw.x) == 10 and len(raw.x_test) == 2 and raw.version == "pets@1"
    assert raw.y[1, 0].tolist() == [1, 5 / 80, 10 / 40, 25 / 80, 30 / 40]

    spec = DataSpec(dataset="pets", split={"val": 2}, image={"size": [32, 64]})
    prepared = prepare(spec, seed=0, raw=raw)
    assert prepared.train.x.shape == (8, 3, 32, 64) and prepared.test.y.shape == (2, 1, 5)
    found = {tuple(b.xyxy) for rows in image_boxes(prepared.train.y) for b in rows}
    assert found == {(8.0, 8.0, 40.0, 24.0), (4.0, 8.0, 20.0, 24.0)}  # 80x40 and 40x40 images
    assert pad_targets([np.zeros((0, 5))]).tolist() == [[[-1.0] * 5]]


def test_a_train_and_val_source_holds_its_val_images_out_as_the_test_split(
    tmp_path: Path,
) -> None:
    images = []
    for index in range(6):
        Image.fromarray(np.zeros((20, 20, 3), dtype=np.uint8)).save(tmp_path / f"{index}.png")
        split = "val" if index >= 4 else "train"
        images.append(BoxedImage(f"{index}.png", 20, 20, (Box(1, 1, 9, 9, 0),), split=split))
    raw = raw_from_boxes(BoxDataset(("cat",), tuple(images), tmp_path), "pets")
    assert (len(raw.x), len(raw.x_test)) == (4, 2)
    with_test = tuple(
        replace(image, split="test") if image.file == "0.png" else image for image in images
    )
    raw = raw_from_boxes(BoxDataset(("cat",), with_test, tmp_path), "pets")
    assert (len(raw.x), len(raw.x_test)) == (5, 1)  # a test split given: val images train
