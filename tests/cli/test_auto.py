"""``athanor auto`` on a folder of images with boxes: an object detector within the budget."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from tests.cli.test_main import athanor


def _yolo_slice(folder: Path, train: int = 32, test: int = 8) -> Path:
    """A few digits-detection canvases (composed as the dataset composes them, from MNIST's
    training and test digits) as a YOLO dataset: ``images/``, ``labels/``, ``data.yaml``."""
    from athanor.data.download import fetch
    from athanor.data.idx import read_idx_file
    from athanor.data.sources.digits_detection import SEED, compose_canvases
    from athanor.data.sources.mnist import MNIST_FILES

    mnist = {key: read_idx_file(fetch(remote)) for key, remote in MNIST_FILES.items()}
    parts = {
        split: compose_canvases(
            mnist[f"{split}_images"], mnist[f"{split}_labels"], count, seed=SEED
        )
        for split, count in (("train", train), ("test", test))
    }
    classes = [str(d) for d in range(10)]
    for split, (pixels, boxes) in parts.items():
        (folder / "images" / split).mkdir(parents=True)
        (folder / "labels" / split).mkdir(parents=True)
        for index, (image, rows) in enumerate(zip(pixels, boxes, strict=True)):
            Image.fromarray(image[0]).save(folder / "images" / split / f"{index}.png")
            lines = [
                f"{int(c)} {(x0 + x1) / 2:.6f} {(y0 + y1) / 2:.6f} {x1 - x0:.6f} {y1 - y0:.6f}"
                for c, x0, y0, x1, y1 in rows.tolist()
                if c >= 0  # rows of -1 pad images with fewer boxes
            ]
            (folder / "labels" / split / f"{index}.txt").write_text("\n".join(lines) + "\n")
    names = ", ".join(f"'{c}'" for c in classes)
    (folder / "data.yaml").write_text(f"train: images/train\ntest: images/test\nnames: [{names}]\n")
    return folder


def test_auto_trains_and_registers_a_detector_for_a_detection_folder(tmp_path: Path) -> None:
    folder = _yolo_slice(tmp_path / "digit-boxes")
    shown = athanor(
        "auto", str(folder), "--budget", "60s", "--trials", "2", "--register", "boxes", "--json"
    )
    report = json.loads(shown.stdout)
    assert report["task"] == "object detection"
    assert report["detection"]["classes"] == 10 and report["detection"]["samples"] == 32
    assert report["dataset"].startswith("digit-boxes@")  # imported as detection first
    assert report["candidates"][0].startswith("centernet")
    assert report["trials"]["done"] == 2 and report["within_budget"]
    assert {"test_map50", "test_map"} <= set(report["winner"]["test_metrics"])
    assert "images resized from 96x96 to 64x64" in " ".join(report["notes"])
    from athanor.api import models

    detector = models.load("boxes")  # registered in the same store
    assert detector.ref == "boxes@1" and detector.schema.task == "detection"
    (found,) = detector.detect([folder / "images" / "test" / "0.png"], threshold=0.0)
    assert found.boxes and all(0 <= v <= 96 for v in found.boxes[0]["xyxy"])
