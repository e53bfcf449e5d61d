"""The generated truth tables in the catalog, and how a 4-row table is split."""

from __future__ import annotations

import pytest

from athanor.data.catalog import catalog_entry
from athanor.data.prepare import prepare
from athanor.errors import DataError
from athanor.spec.data import DataSpec


@pytest.mark.parametrize(
    ("gate", "outputs"), [("xor", [0, 1, 1, 0]), ("and", [0, 0, 0, 1]), ("or", [0, 1, 1, 1])]
)
def test_truth_tables(gate: str, outputs: list[int]) -> None:
    raw = catalog_entry(gate).load()
    assert raw.x.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert raw.y.tolist() == outputs and raw.classes == ["0", "1"]
    assert raw.features == ["x1", "x2"] and raw.kind == "tabular"


def test_split_none_trains_on_every_row_and_says_nothing_is_held_out() -> None:
    for split in ("none", {"val": 0, "test": 0}, {"val": 0.0, "test": 0}):
        prepared = prepare(DataSpec(dataset="xor", split=split, normalize="none"), seed=0)
        assert prepared.val is None and prepared.test is None
        assert prepared.train.x.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
        (warning,) = prepared.record["warnings"]
        assert warning.startswith("data.split: none: training on all 4 samples of 'xor'")
    validation_only = prepare(DataSpec(dataset="or", split={"val": 1, "test": 0}), seed=0)
    assert validation_only.size("val") == 1 and validation_only.test is None


def test_a_tiny_table_is_not_split_silently() -> None:
    prepared = prepare(DataSpec(dataset="xor"), seed=0)  # the default split: 2 / 1 / 1
    sizes = prepared.record["split"]["sizes"]
    assert sizes == {"train": 2, "val": 1, "test": 1}
    (warning,) = prepared.record["warnings"]
    assert "only 4 samples, split into train 2, val 1, test 1" in warning
    assert "data.split: none" in warning
    iris = prepare(DataSpec(dataset="iris"), seed=0)
    assert "warnings" not in iris.record
    with pytest.raises(DataError, match="leave only 1 training sample of 4"):
        prepare(DataSpec(dataset="xor", split={"val": 2, "test": 1}), seed=0)
