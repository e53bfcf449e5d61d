"""Numbers of the lab's requests as their JSON Schema says: ``true`` or ``"12"`` is not a
number (pydantic's lax mode would take them), while ``12.0`` is the integer 12."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator


def only_numbers(value: Any) -> Any:
    """``value``, unless it is a bool or a string (a ValueError)."""
    if isinstance(value, bool | str):
        raise ValueError("must be a number")
    return value


Int = Annotated[int, BeforeValidator(only_numbers)]
Float = Annotated[float, BeforeValidator(only_numbers)]
