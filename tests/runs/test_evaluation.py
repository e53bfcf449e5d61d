"""Every tested classification or regression run keeps an evaluation of its test split that
agrees with its test metrics: confusion matrix, per-class scores, curves, wrong examples;
predicted-vs-actual points and error by decile."""

from __future__ import annotations

import json
import math
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

import athanor as at
from athanor.runs.evaluation import Evaluation, write_evaluation
from athanor.runs.evaluation_files import example_image, read_evaluation
from athanor.settings import Settings
from athanor.store import open_store
from tests.evaluated_runs import BINARY, evaluated_runs


@pytest.fixture(scope="module")
def store_settings() -> Settings:
    return evaluated_runs().settings


@pytest.fixture(scope="module")
def digits_run():
    return evaluated_runs().digits


@pytest.fixture(scope="module")
def binary_run():
    return evaluated_runs().binary


@pytest.fixture(scope="module")
def regression_run():
    return evaluated_runs().regression


def _evaluation(run, settings: Settings) -> tuple[dict, Path]:
    run_dir = open_store(settings).artifacts.run_dir(run.id)
    evaluation = read_evaluation(run_dir)
    assert evaluation is not None, f"run {run.id} stored no evaluation"
    return evaluation, run_dir


def test_an_image_classifier_keeps_its_confusion_matrix_scores_and_wrong_images(
    digits_run, store_settings: Settings
) -> None:
    run = digits_run
    evaluation, run_dir = _evaluation(run, store_settings)
    matrix = np.array(evaluation["confusion_matrix"])
    test_size = run.run.summary["data"]["split"]["sizes"]["test"]
    assert evaluation["task"] == "classification" and evaluation["classes"] == [
        str(d) for d in range(10)
    ]
    assert matrix.shape == (10, 10) and matrix.sum() == evaluation["samples"] == test_size
    # the same predictions the run's test accuracy was computed from
    assert math.isclose(np.trace(matrix) / matrix.sum(), run.test_metrics["test_accuracy"])
    assert math.isclose(evaluation["accuracy"], run.test_metrics["test_accuracy"])
    for k, scores in enumerate(evaluation["per_class"]):
        assert scores["support"] == matrix[k].sum()
        assert math.isclose(scores["recall"], matrix[k, k] / matrix[k].sum())
        predicted = matrix[:, k].sum()
        assert math.isclose(scores["precision"], matrix[k, k] / predicted if predicted else 0)
    assert evaluation["binary"] is None
    wrong = evaluation["wrong_examples"]
    assert 0 < len(wrong) <= min(16, test_size - np.trace(matrix))
    assert all(w["actual"] != w["predicted"] for w in wrong)
    confidences = [w["confidence"] for w in wrong]
    assert confidences == sorted(confidences, reverse=True)
    assert all(w["confidence"] > w["actual_probability"] for w in wrong)
    for rank, example in enumerate(wrong):
        image = example_image(run_dir, rank)
        assert example["image"] == image.name and image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert example_image(run_dir, len(wrong)) is None
    assert (run_dir / "evaluation" / "evaluation.json").stat().st_size < 64_000


def test_a_binary_classifier_keeps_roc_and_precision_recall_curves(
    binary_run, store_settings: Settings
) -> None:
    evaluation, _ = _evaluation(binary_run, store_settings)
    binary = evaluation["binary"]
    assert binary["positive_class"] == evaluation["classes"][1] == "benign"
    roc = np.array(binary["roc"]["points"])
    assert roc[0].tolist() == [0, 0] and roc[-1].tolist() == [1, 1] and len(roc) <= 201
    assert (np.diff(roc[:, 0]) >= 0).all() and (np.diff(roc[:, 1]) >= 0).all()
    # the trapezoids under the kept points: the AUC, up to the points thinned away
    trapezoids = np.sum(np.diff(roc[:, 0]) * (roc[1:, 1] + roc[:-1, 1]) / 2)
    assert abs(trapezoids - binary["roc"]["auc"]) < 0.02
    assert 0.5 < binary["roc"]["auc"] <= 1
    pr = np.array(binary["pr"]["points"])
    assert pr[0][0] == 0 and pr[-1][0] == 1 and (np.diff(pr[:, 0]) >= 0).all()
    assert 0 < binary["pr"]["average_precision"] <= 1
    # table rows: features as the network sees them, no image
    example = evaluation["wrong_examples"][0]
    assert example["image"] is None and "mean radius" in example["row"]


def test_a_regression_keeps_points_residuals_and_error_by_decile_in_target_units(
    regression_run, store_settings: Settings
) -> None:
    evaluation, _ = _evaluation(regression_run, store_settings)
    test_size = regression_run.run.summary["data"]["split"]["sizes"]["test"]
    assert evaluation["task"] == "regression" and evaluation["target"] == "medv"
    # in dollars (thousands), as the test metrics, though trained on standardized prices
    assert math.isclose(evaluation["mae"], regression_run.test_metrics["test_mae"], rel_tol=1e-4)
    assert math.isclose(evaluation["rmse"], regression_run.test_metrics["test_rmse"], rel_tol=1e-4)
    assert len(evaluation["points"]) == evaluation["samples"] == test_size  # under the cap
    actual = np.array([p[0] for p in evaluation["points"]])
    assert actual.min() > 4 and actual.max() <= 50  # medv's own range
    deciles = evaluation["deciles"]
    assert [d["decile"] for d in deciles] == list(range(1, 11))
    assert sum(d["count"] for d in deciles) == test_size
    assert all(a["high"] <= b["low"] for a, b in pairwise(deciles))
    weighted = sum(d["mae"] * d["count"] for d in deciles) / test_size
    assert math.isclose(weighted, evaluation["mae"], rel_tol=1e-3)
    assert sum(evaluation["residual_histogram"]["counts"]) == test_size


def test_scores_and_curves_agree_with_scikit_learn() -> None:
    from sklearn.metrics import (
        average_precision_score,
        precision_recall_fscore_support,
        roc_auc_score,
    )

    from athanor.runs.evaluation import _binary_curves, _class_scores

    rng = np.random.default_rng(0)
    actual = rng.integers(0, 2, 300)
    score = np.round(np.clip(actual * 0.3 + rng.random(300) * 0.8, 0, 1), 2)  # with ties
    curves = _binary_curves(actual, score, "yes")
    assert math.isclose(curves["roc"]["auc"], roc_auc_score(actual, score))
    assert math.isclose(curves["pr"]["average_precision"], average_precision_score(actual, score))
    assert _binary_curves(np.ones(5, dtype=int), np.linspace(0, 1, 5), "yes") is None
    predicted = rng.integers(0, 4, 300)
    predicted[:40] = 3  # class 3 over-predicted, and class 2 never predicted below
    predicted[predicted == 2] = 1
    labels = rng.integers(0, 4, 300)
    matrix = np.zeros((4, 4), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    ours = _class_scores(matrix)
    theirs = precision_recall_fscore_support(labels, predicted, labels=range(4), zero_division=0)
    for mine, reference in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(mine, reference)


def test_a_search_winner_tested_after_selection_gets_its_evaluation_then(
    store_settings: Settings,
) -> None:
    run = at.train(
        {**BINARY, "name": "trial"}, progress=False, settings=store_settings, evaluate_test=False
    )
    run_dir = open_store(store_settings).artifacts.run_dir(run.id)
    assert read_evaluation(run_dir) is None  # not looked at while choosing
    tested = at.runs.test_run(run.id, settings=store_settings)
    evaluation = read_evaluation(run_dir)
    assert math.isclose(evaluation["accuracy"], tested.test_metrics["test_accuracy"])


def test_non_finite_values_are_stored_as_null(tmp_path: Path) -> None:
    from athanor.store.artifacts import ArtifactStore

    artifacts = ArtifactStore(tmp_path)
    run_dir = artifacts.run_dir(1)
    report = {"task": "regression", "mae": float("nan"), "points": [[1.0, float("inf")]]}
    write_evaluation(artifacts, run_dir, Evaluation(report))
    assert json.loads((run_dir / "evaluation" / "evaluation.json").read_text()) == {
        "task": "regression",
        "mae": None,
        "points": [[1.0, None]],
    }
    write_evaluation(artifacts, run_dir, Evaluation({"task": "regression"}))  # replaced
    assert read_evaluation(run_dir) == {"task": "regression"}
    assert read_evaluation(artifacts.run_dir(2)) is None
