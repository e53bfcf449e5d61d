"""``athanor.auto``: a registered, tested model for a dataset within a budget."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import athanor as at
from athanor.errors import UserError
from athanor.store import open_store


def _tested_runs() -> list[int]:
    return [
        run.id
        for run in open_store().runs.list(limit=1000)
        if any(name.startswith("test_") for name in run.summary.get("metrics", {}))
    ]


def test_auto_on_a_table_tests_the_winner_once_and_registers_it() -> None:
    result = at.auto("iris", budget="2m", trials=3, progress=False)
    assert result.model_version.ref == "iris-auto@1"
    assert set(result.test_metrics) == {"test_loss", "test_accuracy"}
    assert result.seconds < 120 and result.report["within_budget"]
    assert _tested_runs() == [result.run_id]  # the test split was looked at once, for the winner
    report = result.report
    assert report["task"] == "tabular classification" and report["kind"] == "auto"
    assert report["trials"]["done"] == 3 and report["winner"]["run_id"] == result.run_id
    assert [phase["name"] for phase in report["phases"]] == [
        "detect and load",
        "search",
        "test and register",
    ]
    assert report["candidates"][0] == "mlp hidden [64]"
    markdown = result.report_paths["markdown"].read_text()
    assert "## Test set (evaluated once, on the chosen model)" in markdown and "## Time" in markdown
    assert "## Candidates\n\n- mlp hidden [64]\n" in markdown and "(within budget)" in markdown
    assert at.searches.show(report["id"])["winner"] == report["winner"]
    predictions = at.models.load("iris-auto").predict(np.array([[5.1, 3.5, 1.4, 0.2]]))
    assert len(predictions) == 1


def test_auto_on_an_imported_image_folder(tmp_path: Path, digits_raw) -> None:
    folder = tmp_path / "digit-photos"
    for label in (0, 1, 7):
        (folder / str(label)).mkdir(parents=True)
        images = digits_raw.x[digits_raw.y == label][:25]
        for index, image in enumerate(images):
            Image.fromarray(image[0] * 16).save(folder / str(label) / f"{index}.png")
    result = at.auto(str(folder), budget="2m", trials=2, register_as="photos", progress=False)
    assert result.detection.task == "image classification"
    assert result.detection.dataset.startswith("digit-photos@")
    assert result.model_version.ref == "photos@1" and "test_accuracy" in result.test_metrics
    assert result.report["notes"][0].endswith(f"imported as dataset {result.detection.dataset}")
    # no ImageNet weights on this machine: the report says which file, where, and how to get it
    (weights,) = [n for n in result.report["notes"] if n.startswith("no pretrained candidate")]
    assert "resnet18-f37072fd.pth" in weights and "auto never downloads" in weights
    assert weights in result.report_paths["markdown"].read_text()


def test_auto_forecasts_a_series() -> None:
    result = at.auto("sunspots", budget="2m", trials=2, metric="mae", progress=False)
    assert result.detection.task == "time-series forecasting"
    assert result.search.record.metric == "val_mae" and "test_mae" in result.test_metrics
    assert result.model_version.ref == "sunspots-auto@1"


def test_auto_refuses_what_it_cannot_do_in_time() -> None:
    with pytest.raises(UserError, match=r"--budget 3s is too short for iris"):
        at.auto("iris", budget=3, progress=False)
    with pytest.raises(UserError, match="--metric acuracy: must be one of val_loss"):
        at.auto("sunspots", budget="1m", metric="acuracy", progress=False)


def test_auto_classifies_a_folder_of_text_documents(tmp_path: Path, mirror: Path) -> None:
    from tests.conftest import write_labeled_text

    folder = write_labeled_text(tmp_path / "passages", per_class=80)
    result = at.auto(folder, budget="40s", trials=3, progress=False)
    assert result.detection.task == "text classification"
    assert result.detection.dataset.startswith("passages@")
    assert result.model_version.ref == "passages-auto@1"
    assert result.test_metrics["test_accuracy"] >= 0.75  # 32 test passages, chance 0.5
    assert result.report["candidates"][0].startswith("text_classifier GRU 32 units")
    assert "## Test set" in result.report_paths["markdown"].read_text()
    prediction = at.models.load("passages-auto").predict(["Good my lord, I do beseech thee"])
    assert prediction[0].label in ("play", "manual")
