"""``athanor.runs.write_report``: one self-contained HTML file with the run's figures."""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

import pytest

import athanor as at
from athanor.errors import NotFound
from athanor.runs.report import NO_EVALUATION, write_report
from athanor.store import open_store
from tests.evaluated_runs import evaluated_runs


def _external_references(html: str) -> list[str]:
    """Every URL the page would fetch (an SVG's xmlns names a namespace, it is not fetched)."""
    return [
        url
        for url in re.findall(r"""(?:src|href)=['"]([^'"]+)""", html)
        if not url.startswith("data:")
    ]


def test_a_classification_report_has_its_matrix_scores_and_wrong_images_inline(
    tmp_path: Path,
) -> None:
    runs = evaluated_runs()
    html = write_report(runs.digits.id, tmp_path / "r.html", settings=runs.settings).read_text()
    assert "<title>Run " in html and "Confusion matrix" in html and "Per class" in html
    assert html.count("<svg") >= 2  # the learning curves and the matrix
    evaluation = at.runs.get_evaluation(runs.digits.id, settings=runs.settings)
    images = html.count("src='data:image/png;base64,")
    assert images == len(evaluation["wrong_examples"]) > 0
    assert _external_references(html) == [] and "<script" not in html
    assert len(html) < 400_000


def test_a_binary_report_draws_roc_and_precision_recall(tmp_path: Path) -> None:
    runs = evaluated_runs()
    html = write_report(runs.binary.id, tmp_path / "b.html", settings=runs.settings).read_text()
    assert "ROC curve, AUC" in html and "Precision-recall curve" in html
    assert "taken for" in html and "mean radius=" in html  # wrong rows shown as rows


def test_a_regression_report_draws_scatter_residuals_and_deciles(tmp_path: Path) -> None:
    runs = evaluated_runs()
    html = write_report(runs.regression.id, tmp_path / "h.html", settings=runs.settings)
    text = html.read_text()
    assert "Predicted against actual" in text and "Residual histogram" in text
    assert "Error by decile of the actual value" in text and text.count("<circle") > 50


def test_a_run_without_an_evaluation_still_has_a_report_saying_so(tmp_path: Path) -> None:
    store = open_store()
    record = store.runs.create({"name": "old"}, name="old", dataset="iris")
    html = write_report(record.id, tmp_path / "old.html").read_text()
    assert escape(NO_EVALUATION) in html and "Confusion matrix" not in html
    with pytest.raises(NotFound, match="run 999 does not exist"):
        write_report(999, tmp_path / "none.html")
