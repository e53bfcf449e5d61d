"""Every bundled example trains (one epoch on a small slice of its real dataset), and every
bundled search runs (two trials on such a slice)."""

from __future__ import annotations

from pathlib import Path

import pytest

import athanor as at
from athanor.spec.examples import list_examples

SLICE = {"train.epochs": 1, "data.subset": {"train": 256, "val": 64, "test": 64}}


@pytest.mark.parametrize("name", list_examples(searches=False))
def test_example_trains_on_a_slice(name: str, mirror: Path) -> None:
    run = at.train(name, SLICE, progress=False)
    assert run.run.status == "succeeded", run.run.status_reason
    assert run.fit.history and all(v == v for v in run.fit.history[-1].values())  # no NaN
    assert run.predictor() is not None


@pytest.mark.parametrize("name", list_examples(searches=True))
def test_search_example_runs_on_a_slice(name: str, mirror: Path) -> None:
    result = at.tune(name, {**SLICE, "train.epochs": 2}, trials=2, progress=False)
    assert result.record.status == "finished" and result.record.done == 2
    assert result.best is not None and result.best["value"] == result.best["value"]


def test_examples_are_runs_or_searches() -> None:
    runs, searches = list_examples(searches=False), list_examples(searches=True)
    assert sorted(runs + searches) == list_examples() and "housing-tune" in searches
    assert "mnist-cnn" in runs
