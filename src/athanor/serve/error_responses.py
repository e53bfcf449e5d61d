"""How the HTTP servers answer a :class:`~athanor.errors.UserError`: with its class's
``http_status`` and ``{"detail": message}``.

The model server and the platform's REST API both install :func:`answer_user_error` as their
one handler of user errors; the prediction endpoint, which answers without FastAPI's routing,
builds the same answer with :func:`error_json`.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from athanor.errors import UserError


class TargetChoice(BaseModel):
    """A column of a table that could be its target."""

    name: str
    type: str = Field(description="numeric, categorical, boolean, datetime or text.")
    examples: list[str] = Field(description="A few distinct values, as text.")


class ErrorOut(BaseModel):
    """Why a request was refused: one message naming the problem and what is valid."""

    detail: str = Field(description="What is wrong and how to fix it.")
    columns: list[TargetChoice] | None = Field(
        default=None,
        description="A table imported without a target: its columns, to choose the target from.",
    )


def error_json(error: UserError) -> bytes:
    """The body answering ``error``: ``{"detail": message}``, plus the error's ``details``
    where it has them (e.g. the columns of a table imported without a target)."""
    return json.dumps({"detail": str(error), **getattr(error, "details", {})}).encode()


async def answer_user_error(_request: Request, error: UserError) -> Response:
    """The exception handler of :class:`UserError`: ``error.http_status`` and its message."""
    return Response(error_json(error), error.http_status, media_type="application/json")
