"""Naming valid choices in error messages, with a "did you mean" hint."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice most like ``word``, or ``None`` when nothing is close."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None


def choices_text(choices: Iterable[str]) -> str:
    """Valid choices as ``a, b, c`` (sorted)."""
    return ", ".join(sorted(choices))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` or an empty string."""
    hint = closest(word, choices)
    return f" (did you mean '{hint}'?)" if hint else ""
