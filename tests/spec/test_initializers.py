"""Initializer specs: names, aliases and parameters that belong to them."""

from __future__ import annotations

import re

import pytest
from pydantic import TypeAdapter, ValidationError

from athanor.nets.initializers import _WEIGHT_INITS
from athanor.spec.initializers import INITIALIZERS, Initializer

initializer = TypeAdapter(Initializer)


def test_every_initializer_has_a_rule() -> None:
    assert set(_WEIGHT_INITS) | {"default"} == set(INITIALIZERS)


def test_forms() -> None:
    assert initializer.validate_python("he_normal").type == "he_normal"
    assert initializer.validate_python({"normal": {"std": 0.1}}).std == 0.1
    assert initializer.validate_python({"type": "orthogonal", "gain": 2}).gain == 2
    assert initializer.validate_python({"zeros": None}).type == "zeros"


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("he_norml", "unknown initializer 'he_norml' (did you mean 'he_normal'?)"),
        ({"xavier_uniform": {"std": 0.1}}, "std applies only to normal, not to 'xavier_uniform'"),
        ({"normal": {"gain": 2}}, "gain applies only to glorot_normal, glorot_uniform"),
        ({"normal": {"std": -1}}, "greater than 0"),
        ({"he_normal": {"mode": "fan_avg"}}, "fan_in"),
        ({"normal": 0.1}, "takes a mapping of parameters"),
    ],
)
def test_clear_errors(written: object, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        initializer.validate_python(written)
