"""The base of every spec model: strict, self-describing, with helpful unknown-key errors."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

from athanor._choices import choices_text, closest


class StrictModel(BaseModel):
    """A spec section: unknown keys fail with the key, a suggestion and the valid keys.

    Subclasses may set ``shorthand`` to the field that a bare scalar fills, so that
    ``maxpool: 2`` means ``maxpool: {size: 2}``.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)

    shorthand: ClassVar[str | None] = None

    @model_validator(mode="before")
    @classmethod
    def _expand_and_check_keys(cls, data: Any) -> Any:
        if cls.shorthand is not None and not isinstance(data, dict | BaseModel):
            data = {cls.shorthand: data}
        if isinstance(data, dict):
            valid = [name for name, field in cls.model_fields.items() if not field.exclude]
            for key in data:
                if key not in cls.model_fields:
                    hint = closest(str(key), valid)
                    suggestion = f" (did you mean '{hint}'?)" if hint else ""
                    raise PydanticCustomError(
                        "unknown_key",
                        "unknown key{suggestion}; valid keys: {valid}",
                        {"key": key, "suggestion": suggestion, "valid": choices_text(valid)},
                    )
        return data
