"""Agreement between two labelers: percent agreement and Cohen's kappa."""

from __future__ import annotations

from pathlib import Path

import pytest
from sklearn.metrics import cohen_kappa_score

from athanor.data.importing import import_dataset
from athanor.label import projects
from athanor.label.agreement import agreement
from athanor.spec.labeling import LabelClass
from athanor.store import open_store
from tests.label.conftest import write_mnist_pngs


def test_percent_agreement_and_kappa_match_scikit_learn(tmp_path: Path) -> None:
    write_mnist_pngs(tmp_path / "digits", 12)
    import_dataset(tmp_path / "digits", name="scans")
    store = open_store()
    names = [LabelClass(name=n) for n in ("a", "b", "c")]
    projects.create_project(store, "scans-work", "scans", labels=names)
    assert agreement(store, "scans-work")["agreement"] is None
    ann = ["a", "a", "b", "b", "c", "c", "a", "b", "c", "a"]
    bob = ["a", "b", "b", "b", "c", "a", "a", "b", "c", "c"]
    projects.label_items(store, "scans-work", list(enumerate(ann)), by="ann")
    projects.label_items(store, "scans-work", list(enumerate(bob)), by="bob")
    projects.label_items(store, "scans-work", [(11, "a")], by="ann")  # one person only
    report = agreement(store, "scans-work")
    assert report["items_with_several"] == 10
    assert report["agreement"] == pytest.approx(0.7)
    assert report["kappa"] == pytest.approx(cohen_kappa_score(ann, bob))
    assert report["pairs"][0]["a"] == "ann" and report["pairs"][0]["items"] == 10
