"""The typical row a served table model shows as its example input, and that it predicts."""

from __future__ import annotations

from athanor.serve.example_input import example_input
from athanor.serve.predictor import Predictor


def test_a_typed_table_gives_raw_columns_with_learned_values(trained_houses) -> None:
    run, _ = trained_houses
    predictor = Predictor.from_package(run.package_dir)
    example = example_input(predictor)
    assert example is not None
    columns = {column.name: column.type for column in predictor.schema.input.columns or []}
    assert set(example) == set(columns)  # the raw columns, not the one-hot features
    assert example["ocean_proximity"] in {"<1H OCEAN", "INLAND", "ISLAND", "NEAR BAY", "NEAR OCEAN"}
    assert 100 < example["total_rooms"] < 10_000  # the training median, in rooms
    assert -125 < example["longitude"] < -114
    assert predictor.predict_proba([example]).shape == (1, 1)


def test_a_numeric_table_gives_each_columns_training_mean(trained_iris) -> None:
    run, _ = trained_iris
    predictor = Predictor.from_package(run.package_dir)
    example = example_input(predictor)
    assert example is not None and list(example) == predictor.schema.input.features
    assert 5 < example["sepal length (cm)"] < 7 and 0.5 < example["petal width (cm)"] < 2
    assert predictor.predict_proba([example]).shape == (1, 3)


def test_an_image_model_has_no_example_row(trained_digits) -> None:
    run, _ = trained_digits
    assert example_input(Predictor.from_package(run.package_dir)) is None
