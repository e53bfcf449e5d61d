"""From a data spec to tensors: splits recorded, statistics from the training split only."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from athanor.data.prepare import prepare
from athanor.errors import DataError
from athanor.spec.data import DataSpec


def test_preprocessing_statistics_come_from_the_training_split_only(mnist_raw) -> None:
    spec = DataSpec(dataset="mnist", split={"val": 0.5})
    prepared = prepare(spec, seed=7, raw=mnist_raw)
    step = prepared.preprocessor.steps[1]
    # Recompute the split independently and take statistics of its training half.
    from athanor.data.splits import split_indices

    parts = split_indices(60_000, {"val": 30_000}, seed=7, labels=mnist_raw.y)
    train_pixels = mnist_raw.x[parts["train"]].astype(np.float64) / 255.0
    assert step.mean[0] == pytest.approx(train_pixels.mean(), abs=1e-6)
    assert step.std[0] == pytest.approx(train_pixels.std(), abs=1e-6)
    every_pixel = np.concatenate([mnist_raw.x, mnist_raw.x_test]).astype(np.float64) / 255.0
    assert abs(step.mean[0] - every_pixel.mean()) > 1e-5  # not the statistics of all data
    assert prepared.train.x.mean().item() == pytest.approx(0.0, abs=1e-4)
    assert prepared.test.x.mean().item() != pytest.approx(0.0, abs=1e-4)


def test_mnist_keeps_its_official_test_set_and_records_the_split(mnist_raw) -> None:
    spec = DataSpec(dataset="mnist", split={"val": 5000}, subset={"train": 1000, "test": 500})
    prepared = prepare(spec, seed=1, raw=mnist_raw)
    assert (len(prepared.train), len(prepared.val), len(prepared.test)) == (1000, 5000, 500)
    assert prepared.schema.input.shape == [1, 28, 28] and prepared.schema.output_size == 10
    assert prepared.schema.input.background == "dark"
    split = prepared.record["split"]
    assert split["official_test"] and split["method"] == "stratified" and split["seed"] == 1
    assert set(split["fingerprints"]) == {"train", "val"}
    assert prepared.train.y.dtype == torch.int64


def test_dataset_without_a_test_set_gets_a_seeded_test_split(digits_raw) -> None:
    spec = DataSpec(dataset="digits", split={"val": 0.1, "test": 0.2})
    first = prepare(spec, seed=3, raw=digits_raw)
    assert first.record["split"]["sizes"] == {"val": 180, "test": 359, "train": 1258}
    again = prepare(spec, seed=3, raw=digits_raw)
    assert torch.equal(first.test.y, again.test.y)
    assert first.record["split"]["fingerprints"] == again.record["split"]["fingerprints"]


def test_regression_targets_and_errors() -> None:
    prepared = prepare(DataSpec(dataset="diabetes"), seed=0)
    assert prepared.schema.task == "regression" and prepared.train.y.shape[1] == 1
    assert prepared.schema.input.features[0] == "age"
    with pytest.raises(DataError, match="has the target 'progression', not 'price'"):
        prepare(DataSpec(dataset="diabetes", target="price"), seed=0)
    with pytest.raises(DataError, match="leave no training samples"):
        prepare(DataSpec(dataset="iris", split={"val": 0.5, "test": 75}), seed=0)
