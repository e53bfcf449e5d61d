"""``data.split``: ``none`` and shares of 0 hold nothing out, also through ``--set``."""

from __future__ import annotations

import pytest

from athanor.errors import SpecError
from athanor.spec import load_spec

BASE = {"data": {"dataset": "xor", "split": "none"}, "model": {"template": "mlp"}}


def test_split_none_and_zero_shares() -> None:
    split = load_spec(BASE).data.split
    assert (split.val, split.test) == (0, 0)
    again = load_spec(BASE, ["data.split.val=1"]).data.split  # one part set back
    assert (again.val, again.test) == (1, 0)
    zero = load_spec({**BASE, "data": {"dataset": "xor", "split": {"val": 0.0}}}).data.split
    assert zero.val == 0 and zero.test == 0.2


def test_negative_or_whole_shares_are_still_refused() -> None:
    with pytest.raises(SpecError, match="val must be a fraction in \\(0, 1\\) or a count >= 1"):
        load_spec(BASE, ["data.split.val=-1"])
    with pytest.raises(SpecError, match="test must be a fraction"):
        load_spec(BASE, ["data.split.test=1.5"])
