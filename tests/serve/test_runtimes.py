"""The forward pass of a served model: ONNX Runtime when it matches PyTorch, else PyTorch."""

from __future__ import annotations

import logging
from functools import partial

import numpy as np
import pytest
import torch

from athanor.data.preprocessing import Preprocessor, ToFloat
from athanor.data.schema import InputSchema, Schema
from athanor.errors import ExportError
from athanor.serve import Predictor
from athanor.serve.runtimes import OnnxScorer, select_runtime


def test_onnxruntime_scores_match_pytorch_on_real_digits(trained_digits, digits_raw) -> None:
    run, _ = trained_digits
    predictor = Predictor.from_package(run.package_dir)
    scorer, name = select_runtime(predictor, "auto", threads=1)
    assert name == "onnxruntime" and isinstance(scorer, OnnxScorer)
    assert scorer.check.max_abs_diff <= 1e-4
    raw = digits_raw.x[:64]
    fast, reference = scorer(raw), predictor.scores(raw)
    assert fast.dtype == np.float32 and fast.shape == reference.shape == (64, 10)
    assert np.abs(fast - reference).max() <= 1e-5  # probabilities, after softmax
    assert (fast.argmax(1) == reference.argmax(1)).all()
    assert select_runtime(predictor, "torch", threads=1)[1] == "torch"


def test_a_network_without_an_onnx_form_falls_back_to_pytorch(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Bessel(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.special.bessel_j0(x)

    network = torch.nn.Sequential(torch.nn.Linear(3, 2), Bessel())
    schema = Schema(
        task="classification", input=InputSchema(kind="tabular", shape=[3]), classes=["a", "b"]
    )
    predictor = Predictor(network, schema, Preprocessor([ToFloat()]), {}, ref="odd@1")
    with caplog.at_level(logging.WARNING, logger="athanor.serve"):
        scorer, name = select_runtime(predictor, "auto", threads=1)
    assert name == "torch" and "odd@1 runs in PyTorch" in caplog.text
    assert scorer(np.ones((2, 3), np.float32)).shape == (2, 2)
    with pytest.raises(ExportError, match=r"layer '1' \(Bessel\)"):
        select_runtime(predictor, "onnxruntime", threads=1)


def test_a_single_logit_classifier_gives_the_same_probabilities_on_onnxruntime() -> None:
    network = torch.nn.Sequential(torch.nn.Linear(3, 1))
    schema = Schema(
        task="classification",
        input=InputSchema(kind="tabular", shape=[3]),
        classes=["no", "yes"],
        single_logit=True,
    )
    predictor = Predictor(network, schema, Preprocessor([ToFloat()]), {}, ref="bce@1")
    scorer, name = select_runtime(predictor, "onnxruntime", threads=1)
    raw = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    assert name == "onnxruntime"
    probabilities = scorer(raw)
    assert probabilities.shape == (5, 2)
    np.testing.assert_allclose(probabilities, predictor.scores(raw), atol=1e-5)


def test_the_torch_runtime_runs_an_image_model_frozen_with_the_same_scores(
    trained_digits, digits_raw
) -> None:
    run, _ = trained_digits
    predictor = Predictor.from_package(run.package_dir)
    scorer, name = select_runtime(predictor, "torch", threads=1)
    assert name == "torch" and isinstance(scorer, partial)
    assert isinstance(scorer.keywords["network"], torch.jit.ScriptModule)
    for raw in (digits_raw.x[:1], digits_raw.x[:64]):
        fast, reference = scorer(raw), predictor.scores(raw)
        assert fast.dtype == np.float32 and fast.shape == reference.shape
        assert np.abs(fast - reference).max() <= 1e-5
        assert (fast.argmax(1) == reference.argmax(1)).all()


def test_a_network_whose_trace_depends_on_the_batch_runs_eager(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class BatchSized(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.flatten(1)[:, :2] + len(x)  # a trace keeps the traced batch's length

    schema = Schema(
        task="classification", input=InputSchema(kind="image", shape=[1, 4, 4]), classes=["a", "b"]
    )
    predictor = Predictor(BatchSized(), schema, Preprocessor([ToFloat()]), {}, ref="odd@2")
    with caplog.at_level(logging.INFO, logger="athanor.serve"):
        scorer, name = select_runtime(predictor, "torch", threads=1)
    assert name == "torch" and scorer == predictor.scores
    assert "odd@2 runs in eager PyTorch: the frozen network's outputs differ" in caplog.text
    raw = np.zeros((3, 1, 4, 4), np.uint8)
    np.testing.assert_allclose(scorer(raw), torch.softmax(torch.full((3, 2), 3.0), 1).numpy())
