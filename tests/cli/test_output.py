"""Tables in an 80-column terminal: numbers are never wrapped mid-digit."""

from __future__ import annotations

import re

from rich.console import Console

from athanor.cli.output import is_moment_text, is_number_text, table

METRICS = [f"{split}_{name}" for split in ("train", "val") for name in ("loss", "accuracy", "f1")]


def render(renderable: object, width: int = 80) -> str:
    console = Console(force_terminal=True, width=width, color_system=None, highlight=False)
    with console.capture() as captured:
        console.print(renderable)
    return captured.get()


def test_numbers_stay_whole_in_80_columns() -> None:
    rows = [(epoch, *(f"{1234.5678 * epoch:,.4f}" for _ in METRICS)) for epoch in (1, 2, 30)]
    text = render(table("per epoch", ["epoch", *METRICS], rows))
    assert max(len(line) for line in text.splitlines()) <= 80
    for row in rows:
        for value in row[1:]:
            assert value in text  # each number on one line, whole
    # every metric is shown, in column groups that repeat the epoch
    assert all(name in text for name in METRICS) and "per epoch (continued)" in text
    cells = re.findall(r"│\s*([\d,.]+)\s*(?=│)", text)
    assert set(cells) >= {"1,234.5678", "2,469.1356", "37,037.0340"}


def test_text_columns_fold_and_numbers_do_not() -> None:
    long_name = "a metric with a rather long descriptive name " * 3
    text = render(table("m", ["metric", "value"], [(long_name, "1,234,567,890")]), width=40)
    assert "1,234,567,890" in text and max(len(line) for line in text.splitlines()) <= 40


def test_what_reads_as_a_number() -> None:
    assert all(map(is_number_text, ["1,234", "-0.5", "3e-4", "97.5 %", "nan", "0"]))
    assert not any(map(is_number_text, ["abc", "[1, 2]", "1.2.3.4x", "3 min ago"]))


def test_timestamps_stay_whole_in_80_columns() -> None:
    start, end, peak = "2014-01-07T02:00:00", "2014-01-07T14:30:00", "2014-01-07 09:05:00"
    rows = [(start, end, "151", "4.532", peak)] * 2
    columns = ["start", "end", "steps", "peak score", "peak at"]
    text = render(table("flagged intervals", columns, rows))
    assert max(len(line) for line in text.splitlines()) <= 80
    for moment in (start, end, peak):
        assert moment in text  # on one line, whole
    assert is_moment_text(start) and is_moment_text("2014-01-07") and not is_moment_text("7")
