"""Publishing a project's labels as a content-hashed dataset version with lineage."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from athanor.data.importing import import_dataset
from athanor.data.versions import load_dataset
from athanor.label import projects
from athanor.label.publish import publish
from athanor.spec.labeling import LabelClass
from athanor.store import open_store
from athanor.store.labeling import Prelabel
from tests.label.conftest import write_mnist_pngs, write_texts


def test_published_labels_are_a_version_that_trains_on_the_labeled_items(tmp_path: Path) -> None:
    labels = write_mnist_pngs(tmp_path / "digits", 20)
    source = import_dataset(tmp_path / "digits", name="scans").version
    store = open_store()
    digits = [LabelClass(name=str(d)) for d in range(10)]
    project = projects.create_project(store, "scans-work", "scans", labels=digits)
    projects.label_items(store, "scans-work", [(i, str(labels[i])) for i in range(8)], by="ann")
    store.labeling.set_prelabels(
        project.id, [Prelabel(i, str(labels[i]), 0.95, 0.05, 0.1, 0.1) for i in (8, 9, 10)], "m@1"
    )
    projects.accept(store, "scans-work", min_confidence=0.9, by="ann")
    projects.review(store, "scans-work", [(11, "rejected", None)], by="ann")
    first = publish(store, "scans-work")
    assert first["dataset"] == "scans-work@1"
    assert first["labels"] == 11 and first["from_model"] == 3
    assert publish(store, "scans-work") == first  # the same labels: the same version
    version = store.datasets.get("scans-work", "1")
    assert version.info["lineage"] == {
        "project": "scans-work",
        "source": source.ref,
        "labels": 11,
        "from_model": 3,
        "from_person": 8,
        "models": ["m@1"],
    }
    raw = load_dataset("scans-work@1")
    assert len(raw.y) == 11 and [raw.classes[i] for i in raw.y] == [str(v) for v in labels[:11]]
    assert raw.x.shape == (11, 1, 28, 28)
    source_labels = np.load(store.artifacts.resolve(source.path) / "labels.npy")
    assert (source_labels == -1).all()  # the source version is left as it was
    projects.label_items(store, "scans-work", [(12, str(labels[12]))], by="ann")
    second = publish(store, "scans-work")
    assert second["dataset"] == "scans-work@2" and second["content_hash"] != first["content_hash"]
    view = projects.project_view(store, store.labeling.get_project("scans-work"))
    assert [v["dataset"] for v in view["versions"]] == ["scans-work@2", "scans-work@1"]


def test_published_documents_keep_their_texts(tmp_path: Path) -> None:
    import_dataset(write_texts(tmp_path / "reviews"), name="reviews", kind="documents")
    store = open_store()
    projects.create_project(store, "moods", "reviews")
    projects.label_items(store, "moods", [(4, "pos"), (5, "neg")], by="ann")
    assert publish(store, "moods")["labels"] == 6
    raw = load_dataset("moods")
    assert len(raw.x) == 6 and "Terrible: slow and boring." in raw.x.tolist()
