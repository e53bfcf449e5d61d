"""Values made JSON-safe for responses: NumPy types, paths, moments, NaN and infinities."""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import PurePath
from typing import Any


def plain(value: Any) -> Any:
    """``value`` with NumPy arrays and scalars as lists and numbers, paths as text, moments
    in ISO 8601, and NaN or infinite floats as ``None`` (JSON has no such numbers)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if hasattr(value, "to_json"):
        return plain(value.to_json())
    if hasattr(value, "tolist"):  # NumPy arrays and scalars, torch tensors
        return plain(value.tolist())
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)
