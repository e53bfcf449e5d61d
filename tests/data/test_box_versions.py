"""Detection versions: coco128 (YOLO) imported, exported as COCO, VOC and YOLO and imported
back with the same boxes and classes; skipped boxes listed; loading back for training."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from athanor.data.box_versions import export_detection, load_detection_version
from athanor.data.boxes import BoxDataset
from athanor.data.importing import import_dataset
from athanor.errors import DataError
from athanor.store import open_store
from tests.data.test_box_formats import (
    SKIP_HINT,
    coco128_slice,
    coco_payload,
    small_coco,
    small_yolo,
)

TOLERANCE_PX = {"coco": 0.005 + 1e-9, "voc": 0.005 + 1e-9}
"""COCO and VOC are written to 2 decimals of a pixel: half a hundredth at most.
YOLO is written to 6 decimals of the image's size: see :func:`_yolo_tolerance`."""


def _yolo_tolerance(width: int, height: int) -> float:
    return 0.5e-6 * max(width, height) + 1e-9


def _by_name(dataset: BoxDataset) -> dict[tuple[str | None, str], object]:
    return {(image.split, Path(image.file).name): image for image in dataset.images}


def assert_same_boxes(before: BoxDataset, after: BoxDataset, box_format: str) -> None:
    assert after.classes == before.classes
    old, new = _by_name(before), _by_name(after)
    assert new.keys() == old.keys()
    for key, image in old.items():
        again = new[key]
        assert (again.width, again.height) == (image.width, image.height)
        assert [b.label for b in again.boxes] == [b.label for b in image.boxes], key
        tolerance = TOLERANCE_PX.get(box_format) or _yolo_tolerance(image.width, image.height)
        for box, box_again in zip(image.boxes, again.boxes, strict=True):
            assert box_again.xyxy == pytest.approx(box.xyxy, abs=tolerance), key
        assert after.path_of(again).read_bytes() == (before.path_of(image).read_bytes())


@pytest.fixture
def coco_slice(tmp_path: Path) -> Path:
    return coco128_slice(tmp_path / "coco128")


def test_a_yolo_import_is_a_detection_version_with_counts_per_split(coco_slice: Path) -> None:
    result = import_dataset(coco_slice, name="coco16", kind="detection")
    version = result.version
    assert (version.kind, version.task, version.rows) == ("detection", "detection", 16)
    info = version.info
    assert info["source_format"] == "yolo" and len(info["classes"]) == 80
    assert {split: counts["images"] for split, counts in info["splits"].items()} == {
        "train": 8,
        "val": 8,
    }
    assert sum(c["boxes"] for c in info["splits"].values()) == info["boxes"]
    assert sum(info["class_counts"].values()) == info["boxes"]
    dataset = load_detection_version("coco16")
    folder = open_store().artifacts.resolve(version.path)
    assert dataset.root == folder and (folder / "boxes.json").is_file()
    assert dataset.box_count() == info["boxes"]
    assert all(dataset.path_of(image).is_file() for image in dataset.images)
    again = import_dataset(coco_slice, name="coco16", kind="detection", format="yolo")
    assert again.reused is False  # the format given is an option of its own
    assert import_dataset(coco_slice, name="coco16", kind="detection").reused is True
    auto = import_dataset(coco_slice, name="coco16-auto")  # kind and format detected
    assert auto.version.content_hash == version.content_hash


@pytest.mark.parametrize("box_format", ["coco", "voc", "yolo"])
def test_export_and_import_again_keeps_boxes_and_classes(
    coco_slice: Path, tmp_path: Path, box_format: str
) -> None:
    import_dataset(coco_slice, name="coco16", kind="detection")
    before = load_detection_version("coco16")
    written = export_detection("coco16", box_format, tmp_path / box_format)
    assert (written["images"], written["boxes"]) == (16, before.box_count())
    result = import_dataset(tmp_path / box_format, name=f"back-{box_format}", kind="detection")
    assert result.version.info["source_format"] == box_format
    assert_same_boxes(before, load_detection_version(f"back-{box_format}"), box_format)


def test_bad_boxes_fail_the_import_or_are_listed_with_skip_bad(tmp_path: Path) -> None:
    folder = small_yolo(
        tmp_path / "yolo", {"a": "0 0.5 0.5 0.5 0.5\n7 0.5 0.5 0.2 0.2\n", "b": "1 0.5 0.5 0 0\n"}
    )
    with pytest.raises(DataError) as raised:
        import_dataset(folder, name="pets", kind="detection")
    assert str(raised.value) == (
        f"labels/train/a.txt line 2: class 7 is unknown; data.yaml lists 2 classes (0..1). "
        f"{SKIP_HINT}"
    )
    store = open_store()
    assert not store.datasets.exists("pets")
    staging = store.artifacts.root / ".staging"
    assert not staging.exists() or list(staging.iterdir()) == []  # nothing half-written
    result = import_dataset(folder, name="pets", kind="detection", skip_bad=True)
    report = result.report
    assert report["skipped_count"] == 2
    assert [item["item"] for item in report["skipped"]] == [
        "labels/train/a.txt line 2",
        "labels/train/b.txt line 1",
    ]
    assert result.version.info["boxes"] == 1


def test_only_detection_versions_load_as_boxes(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="iris is a tabular dataset, not a detection one"):
        load_detection_version("iris")


def test_a_coco_json_file_imports_with_the_images_beside_it(tmp_path: Path) -> None:
    folder = small_coco(tmp_path / "coco", coco_payload())
    result = import_dataset(folder / "annotations.json", name="shop")  # kind auto: detection
    assert (result.version.kind, result.version.info["source_format"]) == ("detection", "coco")
    assert result.report["notes"] == [
        "1 crowd region(s) (iscrowd: 1) left out",
        "1 annotation(s) of several polygons: the largest kept",
    ]
    dataset = load_detection_version("shop")
    assert dataset.classes == ("cat", "dog") and dataset.images[0].file == "images/a.png"
    assert dataset.images[0].boxes[1].polygon == ((50.0, 40.0), (70.0, 40.0), (70.0, 60.0))
    # The hash covers the images beside the file: a changed image is a new version.
    Image.new("RGB", (100, 80), (255, 0, 0)).save(folder / "images" / "a.png")
    assert import_dataset(folder / "annotations.json", name="shop").version.number == 2
