"""``athanor predict DETECTOR image.png`` prints boxes, draws them, writes them to a CSV."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from PIL import Image

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
