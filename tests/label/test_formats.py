"""Labels out and back in: CSV, Label Studio JSON and class folders (zip), for each."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from athanor.data.importing import import_dataset
from athanor.errors import DataError, UserError
from athanor.label import projects
from athanor.label.formats import export_labels, import_labels
from athanor.spec.labeling import LabelClass
from athanor.store import Store, open_store
from tests.label.conftest import write_mnist_pngs, write_texts


def _labels(store: Store, name: str) -> dict[int, tuple]:
    project = store.labeling.get_project(name)
    return {r.item: (r.label, r.predicted) for r in store.labeling.get_items(project.id)}


@pytest.fixture
def two_projects(tmp_path: Path) -> Store:
    """The same 24 digits (8 labeled) in two projects: one to export, one to import into."""
    labels = write_mnist_pngs(tmp_path / "digits", 24, labeled=8)
    import_dataset(tmp_path / "digits", name="scans")
    store = open_store()
    for name in ("source", "target"):
        digits = [LabelClass(name=str(d)) for d in range(10)]
        projects.create_project(store, name, "scans", labels=digits)
    extra = [(i, str(labels[i])) for i in range(8, 14)]
    projects.label_items(store, "source", extra, by="ann")
    project = store.labeling.get_project("source")
    from athanor.store.labeling import Prelabel

    store.labeling.set_prelabels(project.id, [Prelabel(20, "3", 0.75, 0.25, 0.4, 0.3)], "m@1")
    return store


def test_csv_round_trip(two_projects: Store) -> None:
    store = two_projects
    content = export_labels(store, "source", "csv")
    assert content.decode().splitlines()[0] == "file,label"
    result = import_labels(store, "target", "csv", content, by="bob")
    assert result["imported"] == 14
    source, target = _labels(store, "source"), _labels(store, "target")
    assert {i: v[0] for i, v in source.items()} == {i: v[0] for i, v in target.items()}
    with pytest.raises(DataError, match=r"line 2: no item with file 'nothing.png'"):
        import_labels(store, "target", "csv", b"file,label\nnothing.png,3\n", by="bob")
    with pytest.raises(DataError, match="header must be 'file,label'"):
        import_labels(store, "target", "csv", b"name,class\n", by="bob")


def test_label_studio_round_trip_keeps_annotations_and_predictions(two_projects: Store) -> None:
    store = two_projects
    tasks = json.loads(export_labels(store, "source", "labelstudio"))
    assert len(tasks) == 24
    annotated = [t for t in tasks if t["annotations"]]
    assert len(annotated) == 14
    assert annotated[0]["annotations"][0]["result"][0]["value"]["choices"]
    predicted = [t for t in tasks if t["predictions"]]
    assert predicted[0]["predictions"][0] == {
        "model_version": "m@1",
        "score": 0.75,
        "result": [
            {
                "from_name": "label",
                "to_name": "image",
                "type": "choices",
                "value": {"choices": ["3"]},
            }
        ],
    }
    result = import_labels(store, "target", "labelstudio", json.dumps(tasks).encode(), by="bob")
    assert result["imported"] == 14 and result["predictions"] == 1
    assert _labels(store, "source") == _labels(store, "target")
    with pytest.raises(DataError, match="expected a list of tasks"):
        import_labels(store, "target", "labelstudio", b"{}", by="bob")
    with pytest.raises(UserError, match="format: 'coco' is not one of"):
        import_labels(store, "target", "coco", b"", by="bob")


def test_class_folders_zip_imports_back_as_the_same_labels(
    two_projects: Store, tmp_path: Path
) -> None:
    store = two_projects
    archive = zipfile.ZipFile(io.BytesIO(export_labels(store, "source", "folders")))
    names = archive.namelist()
    assert len(names) == 24 and sum("/" in n for n in names) == 14
    archive.extractall(tmp_path / "unzipped")
    version = import_dataset(tmp_path / "unzipped", name="again").version
    counts = store.labeling.counts(store.labeling.get_project("source").id)
    assert (
        version.info["class_counts"] == {c: n for c, n in counts["per_class"].items()}
        and version.info["unlabeled"] == 10
    )


def test_text_csv_round_trip(tmp_path: Path) -> None:
    import_dataset(write_texts(tmp_path / "reviews"), name="reviews", kind="documents")
    store = open_store()
    projects.create_project(store, "moods", "reviews")
    projects.create_project(store, "moods-copy", "reviews")
    projects.label_items(store, "moods", [(4, "pos")], by="ann")
    content = export_labels(store, "moods", "csv")
    assert content.decode().splitlines()[0] == "text,label"
    assert import_labels(store, "moods-copy", "csv", content, by="bob")["imported"] == 5
    assert _labels(store, "moods") == _labels(store, "moods-copy")
    folders = zipfile.ZipFile(io.BytesIO(export_labels(store, "moods", "folders")))
    assert sum(n.startswith("pos/") for n in folders.namelist()) == 3
