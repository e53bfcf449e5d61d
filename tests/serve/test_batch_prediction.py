"""Batch prediction streams folders and CSV files into a CSV, going on past bad items."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from athanor.errors import PredictionInputError
from athanor.serve import Predictor
from athanor.serve.batch_prediction import count_items, list_sources, predict_files


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_folder_of_images_with_bad_ones_among_them(
    trained_digits, digits_raw, tmp_path: Path
) -> None:
    run, _ = trained_digits
    predictor = Predictor.from_package(run.package_dir)
    folder = tmp_path / "digits"
    (folder / "more").mkdir(parents=True)
    for index in range(7):
        where = folder / "more" if index % 2 else folder
        Image.fromarray(digits_raw.x[index, 0]).save(where / f"{index}.png")
    (folder / "broken.png").write_bytes(b"\x89PNG not really")
    (folder / "notes.txt").write_text("not an input, not listed")
    output = tmp_path / "preds.csv"
    progress: list[int] = []
    summary = predict_files(predictor, [folder], output, batch_size=3, on_progress=progress.append)

    assert summary.predicted == 7 and sum(progress) == 8
    assert [(Path(item).name, error.split(": ", 1)[1]) for item, error in summary.failures] == [
        ("broken.png", "not a readable image (PNG, JPEG, BMP, WebP or GIF expected)")
    ]
    rows = read(output)
    assert list(rows[0]) == ["input", "label", "probability", *(f"p_{d}" for d in range(10))]
    expected = [p.label for p in predictor.predict(digits_raw.x[:7])]
    by_name = {Path(row["input"]).stem: row["label"] for row in rows}
    assert [by_name[str(i)] for i in range(7)] == expected
    assert np.isclose(sum(float(rows[0][f"p_{d}"]) for d in range(10)), 1.0, atol=1e-4)
    assert read(summary.errors_file)[0]["input"].endswith("broken.png")


def test_csv_rows_with_bad_lines(trained_iris, tmp_path: Path) -> None:
    run, _ = trained_iris
    predictor = Predictor.from_package(run.package_dir)
    features = predictor.schema.input.features
    rows = tmp_path / "rows.csv"
    rows.write_text(
        ",".join(features)
        + "\n5.1,3.5,1.4,0.2\n5.0,x,1.4,0.2\n6.7,3.0,5.2,2.3\n1,2\n"
        + "\n".join(["5.1,3.5,1.4,0.2"] * 40)
        + "\n"
    )
    assert count_items([rows]) == 45  # the header counts: a bound for the progress bar
    output = tmp_path / "out.csv"
    summary = predict_files(predictor, [rows], output, batch_size=16)
    assert summary.predicted == 42
    assert summary.failures == [
        (f"{rows}:3", f"{rows}:3: column {features[1]}: 'x' is not a number"),
        (f"{rows}:5", f"{rows}:5: column {features[2]}: no value (a number)"),
    ]
    written = read(output)
    assert [row["label"] for row in written[:2]] == ["setosa", "virginica"]
    assert written[1]["input"] == f"{rows}:4"


def test_nothing_is_written_when_a_source_is_missing(trained_iris, tmp_path: Path) -> None:
    run, _ = trained_iris
    predictor = Predictor.from_package(run.package_dir)
    with pytest.raises(PredictionInputError, match="missing.csv: no such file or folder"):
        predict_files(predictor, [tmp_path / "missing.csv"], tmp_path / "out.csv")
    assert list(tmp_path.iterdir()) == []
    assert list_sources([tmp_path], image_model=False) == []
