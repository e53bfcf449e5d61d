"""``athanor.summary``: a spec's network sized from its prepared data, or a registered model."""

from __future__ import annotations

import pytest

import athanor as at
from athanor.errors import ShapeError, SpecError, UserError
from athanor.nets import count_parameters

DIGITS_CNN = {
    "data": "digits",
    "model": {"layers": [{"conv2d": {"filters": 4, "padding": "same"}}, "flatten"]},
}


def test_a_spec_is_summarized_for_its_data_or_another_input() -> None:
    result = at.summary(DIGITS_CNN)
    assert result.input_shape == (1, 1, 8, 8)
    assert result.layer("output").output_shape == (1, 10)  # ten digit classes
    bigger = at.summary(DIGITS_CNN, (5, 1, 16, 16), overrides=["model.layers.0.conv2d.filters=2"])
    assert bigger.layer("conv2d_1").output_shape == (5, 2, 16, 16)
    assert bigger.layer("output").parameters == 2 * 16 * 16 * 10 + 10


def test_a_registered_model_is_summarized_as_stored(trained_digits) -> None:
    run, settings = trained_digits
    result = at.summary("digits-cnn", (3, 1, 8, 8), settings=settings)
    assert result.parameters == sum(count_parameters(run.network))
    assert [r.name for r in result.layers] == list(run.network.layer_shapes)
    with pytest.raises(UserError, match="model digits-cnn@1 takes samples \\[1, 8, 8\\]"):
        at.summary("digits-cnn", (3, 1, 28, 28), settings=settings)
    with pytest.raises(UserError, match="--set changes specs"):
        at.summary("digits-cnn", overrides=["x=1"], settings=settings)


def test_mistakes_are_named() -> None:
    with pytest.raises(ShapeError, match="layer 1 \\(lstm\\): expects sequences"):
        at.summary({"data": "digits", "model": {"layers": [{"lstm": 8}]}})
    with pytest.raises(SpecError, match="no such spec file"):
        at.summary("missing.yaml")
    with pytest.raises(UserError, match="give the batch and a sample's sizes"):
        at.summary(DIGITS_CNN, (0, 1, 8, 8))
