"""Agreement between labelers: percent agreement and Cohen's kappa for classes; boxes
matched by IoU, their F1, mean IoU and class agreement; the least agreed items first."""

from __future__ import annotations

from pathlib import Path

import pytest
from sklearn.metrics import cohen_kappa_score

from athanor.data.importing import import_dataset
from athanor.label import projects
from athanor.label.agreement import agreement, box_iou, compare_boxes
from athanor.label.box_labels import set_boxes
from athanor.spec.labeling import LabelClass
from athanor.store import open_store
from tests.label.conftest import write_digit_canvases, write_mnist_pngs


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


def test_the_least_agreed_class_items_come_first(tmp_path: Path) -> None:
    write_mnist_pngs(tmp_path / "digits", 4)
    import_dataset(tmp_path / "digits", name="scans")
    store = open_store()
    projects.create_project(store, "three", "scans", labels=[LabelClass(name=n) for n in "ab"])
    projects.label_items(store, "three", [(0, "a"), (1, "a"), (2, "b")], by="ann")
    projects.label_items(store, "three", [(0, "a"), (1, "b"), (2, "b")], by="bob")
    projects.label_items(store, "three", [(0, "a"), (1, "b")], by="cy")
    report = agreement(store, "three")
    assert report["kind"] == "classes" and report["items_with_several"] == 3
    # item 1: ann/bob and ann/cy disagree, bob/cy agree: 1 of 3 pairs
    assert [(d["item"], d["people"]) for d in report["disputed"]] == [(1, ["ann", "bob", "cy"])]
    assert report["disputed"][0]["agreement"] == pytest.approx(1 / 3)
    assert report["disputed"][0]["name"].endswith(".png")


def test_boxes_are_matched_by_iou_and_agree_by_f1_iou_and_class(tmp_path: Path) -> None:
    """Two people box six canvases: identical boxes agree; a box shifted below the IoU
    threshold, a missing box and a wrong class each lower the F1 by what the formula says."""
    write_digit_canvases(tmp_path / "canvases", 6)
    import_dataset(tmp_path / "canvases", name="canvases", kind="detection")
    store = open_store()
    projects.create_project(store, "boxes", "canvases", kind="detection", by="ann")
    truth = {i["id"]: i["boxes"] for i in projects.list_items(store, "boxes")["items"]}
    assert agreement(store, "boxes")["items_with_several"] == 0  # imported boxes are no vote
    set_boxes(store, "boxes", list(truth.items()), by="ann")
    first = truth[0][0]
    x1, y1, x2, y2 = first["xyxy"]
    width = x2 - x1
    shifted = {"class": first["class"], "xyxy": [x1 + width / 2, y1, x2 + width / 2, y2]}
    other = str((int(first["class"]) + 1) % 10)
    bob = {
        0: [shifted, *truth[0][1:]],  # IoU 1/3: unmatched at 0.5, matched at 0.3
        1: truth[1][1:],  # one box missed
        2: [{"class": other, "xyxy": truth[2][0]["xyxy"]}, *truth[2][1:]],  # a wrong class
        3: truth[3],
    }
    set_boxes(store, "boxes", list(bob.items()), by="bob")
    report = agreement(store, "boxes")
    assert report["kind"] == "boxes" and report["items_with_several"] == 4
    n = [len(truth[i]) for i in range(4)]
    expected = [2 * (n[0] - 1) / (2 * n[0]), 2 * (n[1] - 1) / (2 * n[1] - 1)]
    expected += [2 * (n[2] - 1) / (2 * n[2]), 1.0]
    assert report["agreement"] == pytest.approx(sum(expected) / 4)
    pair = report["pairs"][0]
    assert (pair["a"], pair["b"], pair["items"]) == ("ann", "bob", 4)
    assert pair["boxes_a"] == sum(n) and pair["boxes_b"] == sum(n) - 1
    assert pair["matched"] == sum(n) - 2  # the shifted box and the missed one
    assert report["class_agreement"] == pytest.approx((sum(n) - 3) / (sum(n) - 2))
    assert report["mean_iou"] == pytest.approx(1.0) and report["kappa"] is None
    assert [d["item"] for d in report["disputed"]] == sorted(
        range(3), key=lambda i: (expected[i], i)
    )
    looser = agreement(store, "boxes", iou=0.3)
    assert looser["pairs"][0]["matched"] == sum(n) - 1
    assert looser["mean_iou"] == pytest.approx(((sum(n) - 2) + 1 / 3) / (sum(n) - 1))


def test_iou_of_boxes() -> None:
    assert box_iou([0, 0, 10, 10], [5, 0, 15, 10]) == pytest.approx(50 / 150)
    assert box_iou([0, 0, 10, 10], [10, 0, 20, 10]) == 0.0
    assert compare_boxes([], [], 0.5)["f1"] == 1.0
