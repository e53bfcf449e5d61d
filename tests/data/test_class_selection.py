"""``data.classes``: keep some classes of a labelled dataset, relabelled 0..k-1."""

from __future__ import annotations

import numpy as np
import pytest

from athanor.data.class_selection import UnknownClassError, select_classes
from athanor.data.prepare import load_raw, prepare
from athanor.data.raw import RawDataset
from athanor.errors import DataError
from athanor.spec import load_spec


def test_keeps_the_named_classes_relabelled_in_the_order_given(digits_raw) -> None:
    kept = select_classes(digits_raw, [7, "3"])  # an index and a name
    assert kept.classes == ["7", "3"]
    assert set(np.unique(kept.y)) == {0, 1}
    assert len(kept) == int(((digits_raw.y == 7) | (digits_raw.y == 3)).sum())
    sevens = digits_raw.x[digits_raw.y == 7]
    np.testing.assert_array_equal(kept.x[kept.y == 0], sevens)  # the same images, in order


def test_the_official_test_split_is_filtered_alike() -> None:
    raw = RawDataset(
        "toy",
        "image",
        "classification",
        x=np.arange(6, dtype=np.uint8).reshape(6, 1, 1, 1),
        y=np.array([0, 1, 2, 0, 1, 2]),
        x_test=np.arange(3, dtype=np.uint8).reshape(3, 1, 1, 1),
        y_test=np.array([2, 1, 0]),
        classes=["a", "b", "c"],
    )
    kept = select_classes(raw, ["c", "a"])
    assert kept.y.tolist() == [1, 0, 1, 0] and kept.x[:, 0, 0, 0].tolist() == [0, 2, 3, 5]
    assert kept.y_test.tolist() == [0, 1] and kept.x_test[:, 0, 0, 0].tolist() == [0, 2]


def test_an_unknown_class_is_refused_naming_the_valid_ones(digits_raw) -> None:
    with pytest.raises(UnknownClassError, match=r"data.classes\[1\]: 'digits' has no class 10"):
        select_classes(digits_raw, [0, 10])
    with pytest.raises(UnknownClassError, match=r"its classes are 0, 1, 2, .*index 0..9"):
        select_classes(digits_raw, [0, "ten"])
    with pytest.raises(DataError, match=r"data.classes\[1\]: the class '4' is twice"):
        select_classes(digits_raw, [4, "4"])
    with pytest.raises(DataError, match="'diabetes' is not a classification dataset"):
        select_classes(load_raw("diabetes"), [0, 1])


def test_a_run_spec_prepares_only_those_classes(digits_raw) -> None:
    spec = load_spec(
        {"data": {"dataset": "digits", "classes": [5, 6, 7, 8, 9]}, "model": {"template": "mlp"}}
    )
    prepared = prepare(spec.data, 0)
    assert prepared.schema.classes == ["5", "6", "7", "8", "9"]
    assert prepared.record["classes"] == ["5", "6", "7", "8", "9"]
    for split in (prepared.train, prepared.val, prepared.test):
        assert set(split.y.unique().tolist()) == {0, 1, 2, 3, 4}
    total = sum(prepared.size(s) for s in ("train", "val", "test"))
    assert total == int((digits_raw.y >= 5).sum())
