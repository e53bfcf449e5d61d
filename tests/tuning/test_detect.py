"""What auto makes of a dataset, and what it refuses with what is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from athanor.errors import DataError, UserError
from athanor.settings import current_settings
from athanor.tuning.detect import (
    FORECASTING,
    IMAGE_CLASSIFICATION,
    TABLE_CLASSIFICATION,
    TABLE_REGRESSION,
    TEXT_CLASSIFICATION,
    detect,
)


def test_catalog_datasets_are_recognized() -> None:
    settings = current_settings()
    iris = detect("iris", None, settings)
    assert (iris.task, iris.samples, iris.features, len(iris.classes)) == (
        TABLE_CLASSIFICATION,
        150,
        4,
        3,
    )
    digits = detect("digits", None, settings)
    assert digits.task == IMAGE_CLASSIFICATION and digits.image_shape == (1, 8, 8)
    sunspots = detect("sunspots", None, settings)
    assert (sunspots.task, sunspots.samples, sunspots.target) == (FORECASTING, 309, "SUNACTIVITY")
    diabetes = detect("diabetes", None, settings)
    assert diabetes.task == TABLE_REGRESSION and diabetes.features == 10


def test_tables_take_a_target_column(mirror: Path) -> None:
    settings = current_settings()
    housing = detect("california-housing", None, settings)
    assert housing.task == TABLE_REGRESSION and housing.target == "median_house_value"
    by_ocean = detect("california-housing", "ocean_proximity", settings)
    assert by_ocean.task == TABLE_CLASSIFICATION and len(by_ocean.classes) == 5
    with pytest.raises(DataError, match="price"):
        detect("california-housing", "price", settings)
    with pytest.raises(DataError, match="--target kind: 'iris' has the fixed target 'species'"):
        detect("iris", "kind", settings)


def test_a_csv_path_is_imported_first(tmp_path: Path) -> None:
    table = tmp_path / "houses.csv"
    rows = [f"{i},{i % 3},{2 * i + 1}" for i in range(40)]
    table.write_text("rooms,zone,price\n" + "\n".join(rows) + "\n")
    found = detect(str(table), "price", current_settings())
    assert found.task == TABLE_REGRESSION and found.dataset.startswith("houses@")
    assert found.notes == [f"{table} imported as dataset {found.dataset}"]
    again = detect(str(table), "price", current_settings())
    assert again.notes == [f"{table} found as dataset {found.dataset}"]


def test_problems_auto_does_not_solve_are_refused_with_what_is_missing(
    tmp_path: Path, mirror: Path
) -> None:
    settings = current_settings()
    with pytest.raises(UserError, match="'tinyshakespeare' is a text corpus for language models"):
        detect("tinyshakespeare", None, settings)
    with pytest.raises(UserError, match="'nab' is a reconstruction .anomaly detection. series"):
        detect("nab", None, settings)


def test_a_folder_of_text_per_class_is_text_classification(tmp_path: Path) -> None:
    settings = current_settings()
    reviews = tmp_path / "reviews"
    for label in ("good", "bad"):
        (reviews / label).mkdir(parents=True)
        for index in range(3):
            (reviews / label / f"{index}.txt").write_text(f"a {label} film, part {index}")
    found = detect(str(reviews), None, settings)
    assert found.task == TEXT_CLASSIFICATION and found.dataset.startswith("reviews@")
    assert found.classes == ["bad", "good"] and found.samples == 6
    assert found.text_lengths["words"]["max"] == 6  # a, good, film, ",", part, 0
    assert found.notes == [f"{reviews} imported as dataset {found.dataset}"]
    again = detect(found.dataset, None, settings)
    assert again.task == TEXT_CLASSIFICATION and again.notes == []
