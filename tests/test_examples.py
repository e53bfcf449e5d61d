"""Every bundled example trains (one epoch on a small slice of its real dataset)."""

from __future__ import annotations

from pathlib import Path

import pytest

import athanor as at
from athanor.spec.examples import list_examples


@pytest.mark.parametrize("name", list_examples())
def test_example_trains_on_a_slice(name: str, mirror: Path) -> None:
    overrides = {
        "train.epochs": 1,
        "data.subset": {"train": 256, "val": 64, "test": 64},
    }
    run = at.train(name, overrides, progress=False)
    assert run.run.status == "succeeded", run.run.status_reason
    assert run.fit.history and all(v == v for v in run.fit.history[-1].values())  # no NaN
    assert run.predictor() is not None
