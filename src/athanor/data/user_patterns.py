"""Regular expressions that users write (log session ids, log header formats), compiled
with RE2.

RE2 matches in time linear in the line, so no pattern can make an import backtrack for
hours on one crafted line; the price is no backreferences or lookarounds, which a session
id or a header format does not need. The compiled pattern answers ``search``, ``match``,
``findall``, ``finditer`` and ``.pattern`` like Python's.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from athanor.errors import DataError


@cache
def _options() -> Any:
    import re2

    options = re2.Options()
    options.log_errors = False  # the error is raised, named below; not also logged to stderr
    return options


def compile_user_pattern(pattern: str, what: str) -> Any:
    """``pattern`` compiled with RE2.

    Args:
        pattern: the user's regular expression.
        what: how messages name it (e.g. ``session 'x'``).

    Raises:
        DataError: a pattern RE2 cannot compile, naming it and why (backreferences and
            lookarounds are not supported).
    """
    import re2

    try:
        return re2.compile(pattern, _options())
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise DataError(
            f"{what} is not a valid regex: {reason} (RE2 syntax: no backreferences or lookarounds)"
        ) from None
