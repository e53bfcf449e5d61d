"""Reading CSV files: a file read again unchanged is not parsed again, and every call gets a
table of its own."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from athanor.data import tables
from athanor.data.tables import read_delimited


def test_an_unchanged_file_is_parsed_once_and_each_reader_gets_its_own_copy(
    tmp_path: Path,
) -> None:
    path = tmp_path / "houses.csv"
    path.write_text("rooms,city,price\n3,Paris,100\n4,Lyon,?\n2,Paris,80\nbad,row\n")
    parses = []
    parse = tables._parse_delimited

    def counted(*args):
        parses.append(args)
        return parse(*args)

    tables._parse_delimited = counted
    try:
        first, problems = read_delimited(path)
        again, again_problems = read_delimited(path)
        assert len(parses) == 1
        assert [c.name for c in again.columns] == ["rooms", "city", "price"]
        assert np.array_equal(again.values["price"], [100, np.nan, 80], equal_nan=True)
        assert problems.ragged == again_problems.ragged == [(5, 2)]
        # what one reader changes, the next does not see
        first.values["rooms"][0] = 99
        first.columns[1].type = "text"
        problems.ragged.clear()
        third, third_problems = read_delimited(path)
        assert third.values["rooms"][0] == 3 and third.columns[1].type == "categorical"
        assert third_problems.ragged == [(5, 2)]
        assert len(parses) == 1
        # a changed file is read again
        path.write_text("rooms,city,price\n5,Nice,300\n")
        os.utime(path, ns=(1, 1))
        changed, _ = read_delimited(path)
        assert len(parses) == 2 and changed.values["rooms"].tolist() == [5.0]
        assert read_delimited(path, delimiter=";")[0].columns[0].name == "rooms,city,price"
        assert len(parses) == 3  # other options: parsed with them
    finally:
        tables._parse_delimited = parse


def test_missing_cells_are_found_in_every_kind_of_column() -> None:
    from athanor.data.tables import missing_mask

    mixed = np.array(["INLAND", " NA ", None, float("nan"), "n/a", "?", 3, "", "none", "x"], object)
    assert missing_mask(mixed).tolist() == [
        False, True, True, True, True, True, False, True, True, False
    ]  # fmt: skip
    assert missing_mask(np.array([1.0, np.nan])).tolist() == [False, True]
    assert missing_mask(np.array(["2020-01-01", "NaT"], "datetime64[D]")).tolist() == [False, True]
    assert missing_mask(np.array(["a", "null"])).tolist() == [False, True]
    assert missing_mask(np.array([], object)).tolist() == []
