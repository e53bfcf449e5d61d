"""Input drift sketches: per channel for images and per column for tables, against the
training statistics a model's preprocessing records."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from athanor.data.preprocessing import default_preprocessor
from athanor.data.schema import InputSchema, Schema
from athanor.serve.input_drift import DriftReference, InputSketch, drift_state
from athanor.serve.predictor import Predictor


def predictor_for(kind: str, train: np.ndarray, normalize: str = "standard", **schema) -> Predictor:
    preprocessor = default_preprocessor(kind, normalize, train.dtype).fit(train)
    shape = list(train.shape[1:])
    schema = Schema(task="classification", input=InputSchema(kind=kind, shape=shape, **schema),
                    classes=["a", "b"])  # fmt: skip
    return Predictor(torch.nn.Flatten(), schema, preprocessor, {})


def test_image_channels_are_compared_with_the_training_pixels() -> None:
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, size=(64, 3, 8, 8), dtype=np.uint8)
    reference = DriftReference.of(predictor_for("image", train))
    assert isinstance(reference, DriftReference)
    assert reference.features == ["channel 0", "channel 1", "channel 2"]

    served = train.astype(np.int16)
    served[:, 2] = np.clip(served[:, 2] // 2, 0, 255)  # the blue channel darkened by half
    sketch = reference.sketch(served.astype(np.uint8))
    assert sketch.samples == 64 and sketch.count == [64 * 64] * 3
    scores = {entry["feature"]: entry for entry in sketch.scores()}
    assert scores["channel 0"]["score"] == pytest.approx(0, abs=1e-4)
    assert scores["channel 0"]["std"] == pytest.approx(1, abs=1e-3)
    assert [scores[f"channel {c}"]["state"] for c in range(3)] == ["stable", "stable", "drifted"]
    assert scores["channel 2"]["score"] > 0.8  # half of a mean of ~127 is ~1.7 std of ~74


def test_table_sketches_add_up_and_round_trip_through_json() -> None:
    train = np.random.default_rng(1).normal([10, -5], [2, 0.5], size=(500, 2)).astype(np.float32)
    reference = DriftReference.of(predictor_for("tabular", train, features=["area", "age"]))
    assert isinstance(reference, DriftReference) and reference.features == ["area", "age"]
    first = reference.sketch(train[:250] + np.array([0.3, 0.0], dtype=np.float32))
    second = reference.sketch(train[250:] + np.array([0.3, 0.0], dtype=np.float32))
    assert first.add(InputSketch.from_json(second.to_json()))
    area, age = first.scores()
    assert area["score"] == pytest.approx(0.3 / train[:, 0].std(), rel=1e-3)
    assert (area["state"], age["state"]) == ("watch", "stable")
    assert not first.add(InputSketch.empty(["other"]))  # another model's features


def test_models_without_training_statistics_say_why() -> None:
    train = np.zeros((4, 2), dtype=np.float32)
    why = DriftReference.of(predictor_for("tabular", train, normalize="none", features=["a", "b"]))
    assert isinstance(why, str) and "data.normalize" in why
    assert [drift_state(s) for s in (None, 0.0999, 0.1, 0.2499, 0.25)] == [
        None, "stable", "watch", "watch", "drifted",
    ]  # fmt: skip
