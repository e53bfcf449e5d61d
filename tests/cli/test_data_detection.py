"""``athanor data`` on detection data in real subprocesses: import coco128 (YOLO), show,
preview as a PNG with boxes, export COCO, and bad labels skipped and listed (the round trips
and the exact messages are in tests/data/test_box_versions.py and test_box_formats.py)."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from tests.cli.test_main import athanor
from tests.data.test_box_formats import coco128_slice, small_yolo


def test_import_show_preview_and_export(tmp_path: Path) -> None:
    folder = coco128_slice(tmp_path / "coco128")
    imported = athanor("data", "import", str(folder), "--kind", "detection", "--name", "coco")
    assert "imported as coco@" in imported.stdout
    assert "yolo: 80 classes; train 8 images / " in imported.stdout
    shown = athanor("data", "show", "coco").stdout
    assert "16 images" in shown and "train: 8 images" in shown and "val: 8 images" in shown
    preview = tmp_path / "preview.png"
    athanor("data", "preview", "coco", "--out", str(preview), "--count", "9")
    with Image.open(preview) as image:
        assert (image.format, image.size) == ("PNG", (768, 768))  # 3 x 3 cells of 256 px
        # Boxes are drawn in their class's colour over the photos.
        colours = {colour for _, colour in image.getcolors(1 << 20)}
    from athanor.data.box_preview import class_colour

    assert class_colour(0) in colours  # a person's box (coco128 images are full of people)
    out = tmp_path / "as-coco"
    exported = json.loads(
        athanor("data", "export", "coco", "--format", "coco", "--out", str(out), "--json").stdout
    )
    assert exported["images"] == 16 and (out / "annotations" / "instances_train.json").is_file()


def test_bad_labels_are_skipped_and_listed(tmp_path: Path) -> None:
    folder = small_yolo(tmp_path / "pets", {"a": "0 0.5 0.5 0.5 0.5\n3 0.5 0.5 0.2 0.2\n"})
    args = ("data", "import", str(folder), "--kind", "detection", "--format", "yolo")
    skipped = athanor(*args, "--name", "pets", "--skip-bad").stdout
    assert "skipped 1 item(s):" in skipped
    assert "labels/train/a.txt line 2: class 3 is unknown" in " ".join(skipped.split())
