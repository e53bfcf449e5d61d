"""``athanor.summary``: a spec's network sized from its prepared data, or a registered model."""

from __future__ import annotations

import pytest

import athanor as at
from athanor.errors import DatasetUnavailable, ShapeError, SpecError, UserError
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


CONV_HOMEWORK = {"model": {"layers": [{"conv2d": {"filters": 64, "kernel": 3, "padding": 1}}]}}


def test_a_spec_with_only_a_model_is_summarized_exactly_for_the_input() -> None:
    result = at.summary(CONV_HOMEWORK, (10, 3, 224, 224))
    assert [row.name for row in result.layers] == ["conv2d_1"]  # no output layer added
    assert result.parameters == 1_792
    assert result.ops.multiplications == result.ops.macs == 867_041_280
    assert result.output_shape == (10, 64, 224, 224)
    one = at.summary(CONV_HOMEWORK, (3, 224, 224))  # no batch: a batch of one
    assert one.input_shape == (1, 3, 224, 224) and one.ops.macs == 86_704_128
    with pytest.raises(UserError, match="only model: \\(no data:\\) needs the input shape"):
        at.summary(CONV_HOMEWORK)
    with pytest.raises(SpecError, match="template: mlp sizes its output from the data"):
        at.summary({"model": {"template": "mlp"}}, (1, 4))


def test_a_sample_shape_without_the_batch_means_one_sample() -> None:
    assert at.summary(DIGITS_CNN, (1, 8, 8)).input_shape == (1, 1, 8, 8)


def test_summary_never_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ATHANOR_OFFLINE")  # downloads allowed, yet summary asks for none
    monkeypatch.delenv("ATHANOR_DATA_MIRROR", raising=False)
    with pytest.raises(DatasetUnavailable, match="summary does not download data, and 'mnist'"):
        at.summary("mnist-cnn")


def test_frozen_parameters_are_counted_as_the_spec_freezes_them() -> None:
    frozen = at.summary({**DIGITS_CNN, "train": {"freeze": ["conv2d_1"]}})
    assert frozen.frozen == 4 * 9 + 4 and frozen.layer("conv2d_1").frozen == 40
    assert "frozen 40)" in frozen.totals_lines()[1]
