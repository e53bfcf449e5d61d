"""``athanor predict DETECTOR image.png`` prints boxes, draws them, writes them to a CSV or
COCO JSON."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from athanor.errors import UserError
from tests.cli.test_main import athanor


def test_predict_prints_draws_and_writes_boxes(
    trained_detector, tmp_path: Path, monkeypatch
) -> None:
    _run, settings = trained_detector
    monkeypatch.setenv("ATHANOR_HOME", str(settings.home))
    monkeypatch.setenv("ATHANOR_DB_URL", settings.db_url)
    canvas = np.zeros((96, 96), dtype=np.uint8)
    canvas[10:50, 20:40] = 255
    image = tmp_path / "canvas.png"
    Image.fromarray(canvas).save(image)
    plot = tmp_path / "boxes.png"
    shown = json.loads(
        athanor(
            "predict", "digit-boxes", str(image), "--threshold", "0", "--plot", str(plot), "--json"
        ).stdout
    )
    (prediction,) = shown["predictions"]
    assert prediction["input"] == str(image) and prediction["boxes"]
    first = prediction["boxes"][0]
    assert set(first) == {"label", "class", "score", "xyxy"}
    assert all(0 <= v <= 96 for v in first["xyxy"])  # the image's own pixels (96, not 48)
    assert shown["plots"] == [str(plot)]
    with Image.open(plot) as drawn:
        assert drawn.size == (192, 192) and drawn.mode == "RGB"  # enlarged to be legible
    table = athanor("predict", "digit-boxes", str(image), "--threshold", "0").stdout
    assert "digit-boxes@1" in table and f"{first['score']:.3f}" in table
    output = tmp_path / "boxes.csv"
    folder = tmp_path / "in"
    folder.mkdir()
    image.rename(folder / "canvas.png")
    athanor("predict", "digit-boxes", "--input", str(folder), "--output", str(output))
    with output.open(newline="") as handle:
        header, *rows = list(csv.reader(handle))
    assert header == ["input", "label", "class", "score", "x0", "y0", "x1", "y1"]
    kept = [b for b in prediction["boxes"] if b["score"] >= 0.3]  # the default threshold
    assert len(rows) == len(kept)
    assert [float(row[3]) for row in rows] == [b["score"] for b in kept]


def test_the_runs_evaluation_shows_map_and_ap_per_class(
    trained_detector, tmp_path: Path, monkeypatch
) -> None:
    run, settings = trained_detector
    monkeypatch.setenv("ATHANOR_HOME", str(settings.home))
    monkeypatch.setenv("ATHANOR_DB_URL", settings.db_url)
    shown = athanor("runs", "show", str(run.run.id)).stdout
    assert "average precision per class" in shown and "mAP@0.5" in shown
    report = tmp_path / "run.html"
    athanor("runs", "report", str(run.run.id), "-o", str(report))
    html = report.read_text(encoding="utf-8")
    assert "Average precision per class" in html and "mAP@[.5:.95]" in html


def test_a_folder_predicted_to_coco_json_reads_back_as_the_csv_boxes(
    trained_detector, tmp_path: Path, monkeypatch
) -> None:
    from faster_coco_eval import COCO

    run, settings = trained_detector
    monkeypatch.setenv("ATHANOR_HOME", str(settings.home))
    monkeypatch.setenv("ATHANOR_DB_URL", settings.db_url)
    folder = tmp_path / "in"
    folder.mkdir()
    for index, (top, left) in enumerate([(10, 20), (40, 8), (5, 60)]):
        canvas = np.zeros((96, 80), dtype=np.uint8)  # not square: width and height differ
        canvas[top : top + 36, left : left + 16] = 255
        Image.fromarray(canvas).save(folder / f"canvas-{index}.png")
    (folder / "broken.png").write_bytes(b"not a png")
    common = ("predict", "digit-boxes", str(folder), "--threshold", "0.05")
    coco_file, csv_file = tmp_path / "preds.json", tmp_path / "preds.csv"
    written = athanor(*common, "--out", str(coco_file), "--json", check=False)
    assert written.returncode == 1  # the broken image is listed and skipped
    assert json.loads(written.stdout)["format"] == "coco"  # chosen by the suffix
    from athanor.serve.batch_prediction import predict_files
    from athanor.serve.predictor import Predictor

    detector = Predictor.from_package(run.package_dir)  # the CSV, in this process (faster)
    summary = predict_files(detector, [folder], csv_file, threshold=0.05)
    assert summary.format == "csv" and [item for item, _ in summary.failures] == [
        str(folder / "broken.png")
    ]
    with csv_file.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows  # boxes at a low threshold, so the comparison below means something

    loaded = COCO(str(coco_file))
    names = {c["id"]: c["name"] for c in loaded.loadCats(loaded.getCatIds())}
    assert list(names.values()) == [str(d) for d in range(10)]
    images = loaded.loadImgs(loaded.getImgIds())
    assert [(i["file_name"], i["width"], i["height"]) for i in images] == [
        (str(folder / f"canvas-{index}.png"), 80, 96) for index in range(3)
    ]  # the broken image is skipped, as in the CSV
    from_coco = []
    for image in images:
        for ann in loaded.loadAnns(loaded.getAnnIds(imgIds=[image["id"]])):
            x, y, w, h = ann["bbox"]
            from_coco.append(
                (image["file_name"], names[ann["category_id"]], ann["score"], (x, y, x + w, y + h))
            )
    from_csv = [
        (
            r["input"],
            r["label"],
            float(r["score"]),
            tuple(float(r[k]) for k in ("x0", "y0", "x1", "y1")),
        )
        for r in rows
    ]
    assert len(from_coco) == len(from_csv)
    for coco_box, csv_box in zip(from_coco, from_csv, strict=True):
        assert coco_box[:3] == csv_box[:3]
        assert np.allclose(coco_box[3], csv_box[3], atol=0.011)  # widths kept to 0.01 px
    # the results format loads as detections against the same images
    assert len(loaded.loadRes(json.loads(coco_file.read_text())["annotations"]).getAnnIds()) == len(
        from_csv
    )


def test_the_output_format_follows_the_suffix_unless_chosen(trained_detector, trained_iris) -> None:
    from athanor.serve.batch_prediction import output_format
    from athanor.serve.predictor import Predictor

    detector = Predictor.from_package(trained_detector[0].package_dir)
    assert output_format(detector, Path("boxes.json")) == "coco"
    assert output_format(detector, Path("boxes.csv")) == "csv"
    assert output_format(detector, Path("boxes.json"), "csv") == "csv"
    assert output_format(detector, Path("boxes.txt"), "coco") == "coco"
    with pytest.raises(UserError, match="--format yaml: must be one of csv, coco"):
        output_format(detector, Path("boxes.yaml"), "yaml")
    classifier = Predictor.from_package(trained_iris[0].package_dir)
    assert output_format(classifier, Path("labels.json")) == "csv"  # as before
    with pytest.raises(UserError, match="only a detector writes them"):
        output_format(classifier, Path("labels.json"), "coco")
