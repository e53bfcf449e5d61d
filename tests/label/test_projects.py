"""Labeling projects on imported images and texts: labels, review, pages, mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from athanor.data.importing import import_dataset
from athanor.errors import Conflict, DatasetNotFound, NotFound, SpecError, UserError
from athanor.label import projects
from athanor.label.agreement import agreement
from athanor.spec.labeling import LabelClass
from athanor.store import open_store
from tests.label.conftest import write_mnist_pngs, write_texts


@pytest.fixture
def digits(tmp_path: Path) -> tuple:
    labels = write_mnist_pngs(tmp_path / "digits", 30, labeled=10)
    import_dataset(tmp_path / "digits", name="scans")
    return open_store(), labels


def test_a_project_takes_the_dataset_classes_and_its_imported_labels(digits) -> None:
    store, labels = digits
    project = projects.create_project(store, "scans-work", "scans", by="ann")
    present = sorted({str(v) for v in labels[:10]})
    assert project.label_names[: len(present)] == present and project.kind == "image"
    assert [label["hotkey"] for label in project.labels][:2] == ["1", "2"]
    view = projects.project_view(store, project)
    assert view["counts"]["total"] == 30 and view["counts"]["labeled"] == 10
    assert view["counts"]["unlabeled"] == 20 and view["training"] is None
    page = projects.list_items(store, "scans-work", state="labeled", limit=3)
    assert page["total"] == 10 and page["items"][0]["by"] == "imported"
    assert page["items"][0]["source"] == "person"


def test_people_label_fix_and_reject_items(digits) -> None:
    store, labels = digits
    names = [LabelClass(name=str(d), hotkey=str(d) if d else "z") for d in range(10)]
    projects.create_project(store, "scans-work", "scans", labels=names, instructions="digits")
    unlabeled = projects.list_items(store, "scans-work", state="unlabeled", limit=500)["items"]
    first = unlabeled[0]["id"]
    result = projects.label_items(store, "scans-work", [(first, str(labels[first]))], by="ann")
    assert result["updated"] == 1 and result["counts"]["labeled"] == 11
    wrong = str((labels[first] + 1) % 10)
    projects.label_items(store, "scans-work", [(first, wrong)], by="bob")
    item = projects.list_items(store, "scans-work", state="labeled", label=wrong)["items"]
    assert any(i["id"] == first and i["review"] == "fixed" and i["by"] == "bob" for i in item)
    report = agreement(store, "scans-work")
    assert report["items_with_several"] == 1 and report["agreement"] == 0.0
    projects.review(store, "scans-work", [(first + 1, "rejected", None)], by="ann")
    counts = projects.label_items(store, "scans-work", [(first, None)], by="bob")["counts"]
    assert counts["rejected"] == 1 and counts["labeled"] == 10
    with pytest.raises(UserError, match=r"label\(s\) cat are not in project"):
        projects.label_items(store, "scans-work", [(first, "cat")], by="ann")
    with pytest.raises(UserError, match=r"no item\(s\) 999 .* ids are 0\.\.29"):
        projects.label_items(store, "scans-work", [(999, "1")], by="ann")
    with pytest.raises(UserError, match="neither a label nor a pre-label"):
        projects.review(store, "scans-work", [(first + 2, "accepted", None)], by="ann")
    with pytest.raises(UserError, match="'fixed' needs the right label"):
        projects.review(store, "scans-work", [(first, "fixed", None)], by="ann")
    with pytest.raises(UserError, match="either ids or min_confidence"):
        projects.accept(store, "scans-work", by="ann")
    with pytest.raises(UserError, match="state: 'done' is not one of"):
        projects.list_items(store, "scans-work", state="done")


def test_mistakes_name_what_would_be_valid(digits, tmp_path: Path) -> None:
    store, _ = digits
    projects.create_project(store, "scans-work", "scans")
    with pytest.raises(Conflict, match="exists"):
        projects.create_project(store, "scans-work", "scans")
    with pytest.raises(UserError, match="catalog dataset's"):
        projects.create_project(store, "mnist", "scans")
    with pytest.raises(UserError, match="is a catalog dataset; import your own"):
        projects.create_project(store, "other", "mnist")
    with pytest.raises(DatasetNotFound, match="unknown dataset 'scanz'"):
        projects.create_project(store, "other", "scanz")
    with pytest.raises(UserError, match="kind: 'text' does not fit"):
        projects.create_project(store, "other", "scans", kind="text")
    with pytest.raises(SpecError, match=r"labels\[1\].hotkey: '1' is also the key of labels\[0\]"):
        projects.create_project(
            store,
            "other",
            "scans",
            labels=[LabelClass(name="a", hotkey="1"), LabelClass(name="b", hotkey="1")],
        )
    with pytest.raises(NotFound, match="projects: scans-work"):
        store.labeling.get_project("nope")
    (tmp_path / "t.csv").write_text("a,b\n1,2\n3,4\n")
    import_dataset(tmp_path / "t.csv", name="numbers", target="b")
    with pytest.raises(UserError, match="holds tabular data; labeling takes images or"):
        projects.create_project(store, "other", "numbers")
    with pytest.raises(UserError, match=r"keep them in the label set"):
        projects.update_project(
            store, "scans-work", labels=[LabelClass(name="x"), LabelClass(name="y")]
        )
    updated = projects.update_project(store, "scans-work", instructions="look closely")
    assert updated.instructions == "look closely"


def test_a_text_project_shows_each_document(tmp_path: Path) -> None:
    import_dataset(write_texts(tmp_path / "reviews"), name="reviews", kind="documents")
    store = open_store()
    project = projects.create_project(store, "moods", "reviews", kind="text")
    assert project.kind == "text" and project.label_names == ["neg", "pos"]
    page = projects.list_items(store, "moods", state="unlabeled")
    assert page["total"] == 3 and page["items"][0]["text"].startswith("Funny and warm")
