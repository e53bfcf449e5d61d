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
from tests.conftest import housing_rows


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


def test_table_rows_as_imported_shuffled_with_an_id_the_target_and_gaps(
    trained_houses, tmp_path: Path
) -> None:
    run, _ = trained_houses
    predictor = Predictor.from_package(run.package_dir)
    rows = housing_rows(12)
    rows[0]["total_bedrooms"] = ""  # a gap: the stored imputation fills it
    rows[1]["total_rooms"] = "many"  # a bad cell: this row is skipped and listed
    columns = ["ocean_proximity", "id", *reversed([c for c in rows[0] if c != "ocean_proximity"])]
    given = tmp_path / "houses.csv"
    with given.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for number, row in enumerate(rows):
            writer.writerow([f"h{number}" if c == "id" else row[c] for c in columns])
    output = tmp_path / "out.csv"
    summary = predict_files(predictor, [given], output, batch_size=5)
    assert summary.predicted == 11
    assert summary.failures == [
        (f"{given}:3", f"{given}:3: column total_rooms: 'many' is not a number")
    ]
    with output.open(newline="") as handle:
        written = list(csv.DictReader(handle))
    header = list(written[0])
    assert header[:3] == ["input", "ocean_proximity", "id"]
    assert header[-1] == "median_house_value" and "median_house_value_given" in header
    assert [r["id"] for r in written] == [f"h{i}" for i in range(12) if i != 1]
    assert written[0]["ocean_proximity"] == rows[0]["ocean_proximity"]  # as given, raw
    # The same rows through the Predictor (JSON-like rows) give the same prices, in dollars.
    expected = predictor.predict_proba([rows[0], *rows[2:]])[:, 0]
    assert np.allclose([float(r["median_house_value"]) for r in written], expected, atol=1)
    assert 20_000 < float(np.median(expected)) < 600_000

    lacking = tmp_path / "lacking.csv"
    lacking.write_text("longitude,latitude,median_income\n-122.2,37.8,3.1\n")
    with pytest.raises(
        PredictionInputError,
        match=r"lacking.csv:1: the header lacks the model's column\(s\) housing_median_age, "
        r"total_rooms, total_bedrooms, population, households, ocean_proximity; the model "
        r"takes longitude, latitude, .* \(in any order; other columns are ignored\)",
    ):
        predict_files(predictor, [lacking], tmp_path / "none.csv")
    assert not (tmp_path / "none.csv").exists()
