"""YOLO, COCO JSON and Pascal VOC readers and writers: real coco128 labels, hand-made bad
ones with their exact messages, limits, and XML that tries to expand entities."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from athanor.data.box_formats import coco as coco_format
from athanor.data.box_formats import detect_format, read_boxes, write_boxes
from athanor.errors import DataError, PayloadTooLarge, UserError
from tests.conftest import MIRROR

SKIP_HINT = "Fix the label, or import with --skip-bad to leave such boxes out and list them."


def coco128_slice(folder: Path, per_split: int = 8) -> Path:
    """The first ``per_split`` train and val images of the mirror's coco128, with their
    labels and its config.yaml, copied into ``folder`` (the YOLO layout kept)."""
    source = MIRROR / "coco128" if MIRROR is not None else None
    if source is None or not (source / "config.yaml").is_file():
        if os.environ.get("ATHANOR_REQUIRE_MIRROR"):
            raise AssertionError("coco128 is not in ATHANOR_DATA_MIRROR")
        pytest.skip("coco128 is not in ATHANOR_DATA_MIRROR (nor in ../shared/data)")
    for split in ("train2017", "val2017"):
        images = sorted((source / "images" / split).iterdir())[:per_split]
        for image in images:
            for kind, name in (("images", image.name), ("labels", f"{image.stem}.txt")):
                from_path = source / kind / split / name
                if from_path.is_file():
                    (folder / kind / split).mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(from_path, folder / kind / split / name)
    shutil.copyfile(source / "config.yaml", folder / "config.yaml")
    return folder


def small_yolo(folder: Path, labels: dict[str, str], size: tuple[int, int] = (100, 80)) -> Path:
    """A YOLO dataset of blank PNGs (``size``), classes ``cat`` and ``dog``, one label file
    per entry of ``labels`` (image stem -> text), all in the train split."""
    (folder / "images" / "train").mkdir(parents=True)
    (folder / "labels" / "train").mkdir(parents=True)
    for stem, text in labels.items():
        Image.new("RGB", size, (200, 200, 200)).save(folder / "images" / "train" / f"{stem}.png")
        (folder / "labels" / "train" / f"{stem}.txt").write_text(text)
    (folder / "data.yaml").write_text("path: .\ntrain: images/train\nnames: [cat, dog]\n")
    return folder


@pytest.fixture(scope="module")
def coco_slice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return coco128_slice(tmp_path_factory.mktemp("coco128"))


def test_coco128_reads_as_yolo_with_its_splits_classes_and_pixel_boxes(coco_slice: Path) -> None:
    assert detect_format(coco_slice) == "yolo"
    dataset, skipped, notes = read_boxes(coco_slice)
    assert (skipped, notes) == ([], [])
    assert len(dataset.classes) == 80 and dataset.classes[:3] == ("person", "bicycle", "car")
    assert [image.split for image in dataset.images] == ["train"] * 8 + ["val"] * 8
    lines = sum(len(path.read_text().split("\n")) - 1 for path in coco_slice.glob("labels/*/*.txt"))
    assert dataset.box_count() == lines
    first = dataset.images[0]
    assert (first.file, first.width, first.height) == (
        "images/train2017/000000000009.jpg",
        640,
        480,
    )
    # Its first line: 45 0.479492 0.688771 0.955609 0.5955 (a bowl), in pixels:
    box = first.boxes[0]
    assert dataset.classes[box.label] == "bowl"
    expected = (
        (0.479492 - 0.955609 / 2) * 640,
        (0.688771 - 0.5955 / 2) * 480,
        (0.479492 + 0.955609 / 2) * 640,
        (0.688771 + 0.5955 / 2) * 480,
    )
    assert box.xyxy == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "5 0.5 0.5 0.2 0.2",
            "labels/train/a.txt line 2: class 5 is unknown; data.yaml lists 2 classes (0..1)",
        ),
        (
            "1 0.9 0.5 0.4 0.2",
            "labels/train/a.txt line 2: out of the image: xyxy [70.0, 32.0, 110.0, 48.0] is not "
            "within 0..100 x 0..80",
        ),
        (
            "0 0.5 0.5 0 0.2",
            "labels/train/a.txt line 2: zero area: xyxy [50.0, 32.0, 50.0, 48.0] needs x0 < x1 "
            "and y0 < y1",
        ),
        (
            "0 0.5 0.5 0.2",
            "labels/train/a.txt line 2: 4 value(s); a YOLO label line is 'class cx cy w h' (5 "
            "values, normalized 0..1) or 'class x1 y1 x2 y2 x3 y3 ...' (a polygon)",
        ),
        ("0 0.5 0.5 0.2 wide", "labels/train/a.txt line 2: 'wide' is not a finite number"),
        ("cat 0.5 0.5 0.2 0.2", "labels/train/a.txt line 2: class 'cat' is not a whole number"),
    ],
)
def test_a_bad_yolo_label_is_refused_naming_file_and_line(
    tmp_path: Path, line: str, message: str
) -> None:
    folder = small_yolo(tmp_path / "yolo", {"a": f"0 0.5 0.5 0.5 0.5\n{line}\n"})
    with pytest.raises(DataError) as raised:
        read_boxes(folder)
    assert str(raised.value) == f"{message}. {SKIP_HINT}"


def test_skip_bad_lists_each_bad_box_and_keeps_the_good_ones(tmp_path: Path) -> None:
    labels = {
        "a": "0 0.5 0.5 0.5 0.5\n5 0.5 0.5 0.2 0.2\n1 0.9 0.5 0.4 0.2\n",
        "b": "1 0.25 0.25 0.5 0.5\n0 0.5 0.5 0 0.2\n0 0.5 0.5\n",
    }
    dataset, skipped, _ = read_boxes(small_yolo(tmp_path / "yolo", labels), skip_bad=True)
    assert [len(image.boxes) for image in dataset.images] == [1, 1]
    assert [item["item"] for item in skipped] == [
        "labels/train/a.txt line 2",
        "labels/train/b.txt line 3",
        "labels/train/a.txt line 3",
        "labels/train/b.txt line 2",
    ]
    assert skipped[0]["reason"] == "class 5 is unknown; data.yaml lists 2 classes (0..1)"
    assert skipped[2]["reason"].startswith("out of the image")


def test_edges_a_rounding_outside_are_moved_onto_the_image(tmp_path: Path) -> None:
    # 0.5 +- 0.5000004 of 100 px reaches 0.00004 px past both edges: rounding, not a bad box.
    folder = small_yolo(tmp_path / "yolo", {"a": "0 0.5 0.5 1.0000008 0.5\n"})
    dataset, skipped, _ = read_boxes(folder)
    assert skipped == [] and dataset.images[0].boxes[0].xyxy == (0.0, 20.0, 100.0, 60.0)


def test_an_unreadable_image_and_a_huge_label_file_are_named(tmp_path: Path) -> None:
    folder = small_yolo(tmp_path / "yolo", {"a": "0 0.5 0.5 0.5 0.5\n", "b": ""})
    (folder / "images" / "train" / "b.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"^images/train/b.png: not a readable image"):
        read_boxes(folder)
    dataset, skipped, _ = read_boxes(folder, skip_bad=True)
    assert [image.file for image in dataset.images] == ["images/train/a.png"]
    assert skipped[0]["item"] == "images/train/b.png"
    (folder / "labels" / "train" / "a.txt").write_text("0 0.5 0.5 0.5 0.5\n" * 300_000)
    with pytest.raises(PayloadTooLarge, match=r"^labels/train/a.txt: 5,400,000 bytes"):
        read_boxes(folder)


def test_a_yolo_folder_without_class_names_or_with_a_bad_yaml_is_refused(tmp_path: Path) -> None:
    folder = small_yolo(tmp_path / "yolo", {"a": ""})
    (folder / "data.yaml").write_text("names: [cat, dog\n")
    with pytest.raises(DataError, match=r"^data.yaml:\d+:\d+: invalid YAML"):
        read_boxes(folder)
    (folder / "data.yaml").write_text("train: ../../elsewhere\nnames: [cat]\n")
    with pytest.raises(DataError, match="data.yaml: train: '../../elsewhere' must be a path"):
        read_boxes(folder)
    (folder / "data.yaml").unlink()
    with pytest.raises(DataError, match="no class names"):
        read_boxes(folder, "yolo")


def coco_payload() -> dict:
    return {
        "images": [{"id": 10, "file_name": "a.png", "width": 100, "height": 80}],
        "annotations": [
            {"id": 1, "image_id": 10, "category_id": 7, "bbox": [10, 10, 30, 20], "iscrowd": 0},
            {
                "id": 2,
                "image_id": 10,
                "category_id": 3,
                "bbox": [50, 40, 20, 20],
                "segmentation": [[50, 40, 70, 40, 70, 60], [50, 40, 51, 40, 51, 41]],
            },
            {"id": 3, "image_id": 10, "category_id": 3, "bbox": [0, 0, 100, 80], "iscrowd": 1},
        ],
        "categories": [{"id": 7, "name": "dog"}, {"id": 3, "name": "cat"}],
    }


def small_coco(folder: Path, payload: dict) -> Path:
    (folder / "images").mkdir(parents=True)
    Image.new("RGB", (100, 80)).save(folder / "images" / "a.png")
    (folder / "annotations.json").write_text(json.dumps(payload, indent=1))
    return folder


def test_coco_categories_of_any_ids_polygons_and_crowds(tmp_path: Path) -> None:
    folder = small_coco(tmp_path / "coco", coco_payload())
    assert detect_format(folder) == "coco" == detect_format(folder / "annotations.json")
    dataset, skipped, notes = read_boxes(folder)
    assert dataset.classes == ("cat", "dog") and skipped == []  # ordered by category id
    image = dataset.images[0]
    assert (image.file, image.split) == ("images/a.png", None)
    assert [(box.label, box.xyxy) for box in image.boxes] == [
        (1, (10.0, 10.0, 40.0, 30.0)),
        (0, (50.0, 40.0, 70.0, 60.0)),
    ]
    assert image.boxes[1].polygon == ((50.0, 40.0), (70.0, 40.0), (70.0, 60.0))
    assert notes == [
        "1 crowd region(s) (iscrowd: 1) left out",
        "1 annotation(s) of several polygons: the largest kept",
    ]


def test_bad_coco_annotations_are_named_by_key_path(tmp_path: Path) -> None:
    payload = coco_payload()
    payload["annotations"][0]["category_id"] = 91
    folder = small_coco(tmp_path / "coco", payload)
    with pytest.raises(DataError) as raised:
        read_boxes(folder)
    assert str(raised.value) == (
        "annotations.json: annotations[0] (id 1): category_id 91 is unknown; annotations.json "
        f"has 2 categories (ids 3, 7). {SKIP_HINT}"
    )
    payload["annotations"][0].update(category_id=7, bbox=[90, 10, 30, 20])
    (folder / "annotations.json").write_text(json.dumps(payload))
    with pytest.raises(DataError, match=r"^annotations.json: annotations\[0\] \(id 1\): out of"):
        read_boxes(folder)
    payload["images"][0]["width"] = 640
    (folder / "annotations.json").write_text(json.dumps(payload))
    with pytest.raises(DataError) as raised:
        read_boxes(folder)
    assert str(raised.value).startswith(
        "annotations.json: images[0] (id 10): width x height 640x80 but images/a.png is 100x80"
    )
    (folder / "annotations.json").write_text('{"images": [],\n "annotations": [,]}')
    with pytest.raises(DataError, match=r"^annotations.json line 2, column 18: not valid JSON"):
        read_boxes(folder, "coco")


def test_a_coco_file_over_the_limit_is_refused_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = small_coco(tmp_path / "coco", coco_payload())
    monkeypatch.setattr(coco_format, "MAX_JSON_BYTES", 100)
    with pytest.raises(PayloadTooLarge, match=r"^annotations.json: \d+ bytes; .* may have 100"):
        read_boxes(folder)


def test_a_coco_file_name_cannot_leave_the_dataset_folder(tmp_path: Path) -> None:
    payload = coco_payload()
    payload["images"][0]["file_name"] = "../a.png"
    folder = small_coco(tmp_path / "coco", payload)
    with pytest.raises(DataError, match=r"images\[0\] \(id 10\).file_name: '../a.png' must be"):
        read_boxes(folder)


VOC_XML = """<annotation>
  <filename>a.png</filename>
  <size><width>100</width><height>80</height><depth>3</depth></size>
  <object><name>dog</name><bndbox><xmin>10</xmin><ymin>10</ymin><xmax>40</xmax>
  <ymax>30</ymax></bndbox></object>
  <object><name>cat</name><bndbox><xmin>50</xmin><ymin>40.5</ymin><xmax>70</xmax>
  <ymax>60</ymax></bndbox></object>
</annotation>
"""


def small_voc(folder: Path, xml: str = VOC_XML) -> Path:
    (folder / "JPEGImages").mkdir(parents=True)
    (folder / "Annotations").mkdir()
    Image.new("RGB", (100, 80)).save(folder / "JPEGImages" / "a.png")
    (folder / "Annotations" / "a.xml").write_text(xml)
    return folder


def test_voc_reads_boxes_and_classes(tmp_path: Path) -> None:
    folder = small_voc(tmp_path / "voc")
    assert detect_format(folder) == "voc"
    dataset, skipped, _ = read_boxes(folder)
    assert dataset.classes == ("cat", "dog") and skipped == []
    assert [(b.label, b.xyxy) for b in dataset.images[0].boxes] == [
        (1, (10.0, 10.0, 40.0, 30.0)),
        (0, (50.0, 40.5, 70.0, 60.0)),
    ]
    (folder / "labels.txt").write_text("dog\n")
    with pytest.raises(DataError) as raised:
        read_boxes(folder)
    assert str(raised.value) == (
        f"Annotations/a.xml: object[1]: class 'cat' is unknown; labels.txt lists 1 classes: "
        f"dog. {SKIP_HINT}"
    )
    (folder / "Annotations" / "a.xml").write_text(VOC_XML.replace("<xmax>40", "<xmax>forty"))
    with pytest.raises(DataError, match=r"object\[0\].bndbox.xmax: 'forty' is not a finite"):
        read_boxes(folder)
    (folder / "Annotations" / "a.xml").write_text("<annotation>\n<filename>a.png</file>")
    with pytest.raises(DataError, match=r"^Annotations/a.xml line 2, column \d+: not well-formed"):
        read_boxes(folder)


@pytest.mark.parametrize(
    "head",
    [
        # A billion laughs: nested entities that would expand to gigabytes.
        '<!DOCTYPE annotation [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;'
        '&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>',
        # An external entity that would read a local file.
        '<!DOCTYPE annotation [<!ENTITY c SYSTEM "file:///etc/passwd">]>',
    ],
)
def test_voc_xml_with_entities_is_refused(tmp_path: Path, head: str) -> None:
    xml = head + VOC_XML.replace("<name>dog</name>", "<name>&c;</name>")
    folder = small_voc(tmp_path / "voc", xml)
    with pytest.raises(DataError) as raised:
        read_boxes(folder, skip_bad=True)
    assert str(raised.value).startswith(
        "Annotations/a.xml: refused: XML with a document type declaration or entities"
    )


def test_detect_format_says_what_each_layout_looks_like(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="cannot tell the detection format; give --format"):
        detect_format(tmp_path / "empty")


def test_writers_refuse_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    dataset, _, _ = read_boxes(small_voc(tmp_path / "voc"))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(UserError, match="exists and is not an empty folder"):
        write_boxes(dataset, "coco", tmp_path / "out")
    with pytest.raises(UserError, match="format 'kitti' is unknown; valid: yolo, coco, voc"):
        write_boxes(dataset, "kitti", tmp_path / "new")
    assert not (tmp_path / "new").exists()
    written = write_boxes(dataset, "voc", tmp_path / "new")
    assert sorted(p.name for p in written.iterdir()) == ["Annotations", "JPEGImages", "labels.txt"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_yolo_label_files_without_an_image_are_noted(tmp_path: Path) -> None:
    folder = small_yolo(tmp_path / "yolo", {"a": "0 0.5 0.5 0.5 0.5\n"})
    (folder / "labels" / "train" / "gone.txt").write_text("1 0.5 0.5 0.5 0.5\n")
    _, _, notes = read_boxes(folder)
    assert notes == ["1 label file(s) without an image read, e.g. labels/train/gone.txt"]


def test_image_sizes_come_from_headers_within_the_pixel_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = small_yolo(tmp_path / "yolo", {"a": "0 0.5 0.5 0.5 0.5\n"})
    monkeypatch.setenv("ATHANOR_MAX_IMAGE_PIXELS", "1000")
    with pytest.raises(DataError) as raised:
        read_boxes(folder)
    assert str(raised.value).startswith(
        "images/train/a.png: the image has 8,000 pixels, more than the limit of 1,000 pixels "
        "(set ATHANOR_MAX_IMAGE_PIXELS to change it). Fix or remove the file, or import with "
        "--skip-bad to leave such images out and list them."
    )
