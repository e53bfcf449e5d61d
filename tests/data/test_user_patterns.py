"""Users' regular expressions run in linear time and bad ones are named."""

from __future__ import annotations

import time

import pytest

from athanor.data.log_lines import format_regex
from athanor.data.user_patterns import compile_user_pattern
from athanor.errors import DataError


def test_a_catastrophic_pattern_answers_at_once() -> None:
    # Python's re backtracks 2**n times on this; RE2 reads the line once.
    pattern = compile_user_pattern(r"(a+)+$", "session '(a+)+$'")
    line = "a" * 50_000 + "!"
    started = time.perf_counter()
    assert pattern.search(line) is None
    assert time.perf_counter() - started < 1.0
    assert pattern.findall("xaa") == ["aa"]


def test_a_header_format_gives_named_fields() -> None:
    regex = format_regex("<Date> <Time> <Level> <Component>: <Content>")
    fields = regex.match("081109 203615 INFO dfs.DataNode: Receiving block blk_-1").groupdict()
    assert fields == {
        "Date": "081109",
        "Time": "203615",
        "Level": "INFO",
        "Component": "dfs.DataNode",
        "Content": "Receiving block blk_-1",
    }


@pytest.mark.parametrize(
    ("pattern", "reason"), [("(blk", "missing )"), (r"(a)\1", "invalid escape sequence")]
)
def test_a_pattern_re2_cannot_compile_is_named_with_the_reason(pattern: str, reason: str) -> None:
    with pytest.raises(DataError) as caught:
        compile_user_pattern(pattern, f"session '{pattern}'")
    message = str(caught.value)
    assert f"session '{pattern}' is not a valid regex" in message and reason in message
    assert "no backreferences" in message
