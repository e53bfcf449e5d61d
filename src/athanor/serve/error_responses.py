"""How the HTTP servers answer a :class:`~athanor.errors.UserError`: with its class's
``http_status`` and ``{"detail": message, "code": ..., "params": {...}, "field": ...}``.

The model server and the platform's REST API both install :func:`answer_user_error` as their
one handler of user errors; the prediction endpoint, which answers without FastAPI's routing,
builds the same answer with :func:`error_json`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from athanor.errors import ERROR_CODES, UserError


class TargetChoice(BaseModel):
    """A column of a table that could be its target."""

    name: str
    type: str = Field(description="numeric, categorical, boolean, datetime or text.")
    examples: list[str] = Field(description="A few distinct values, as text.")


CODE_DESCRIPTION = (
    "A stable name of the mistake, for clients that show their own text (the web console "
    "translates it): " + ", ".join(sorted(ERROR_CODES)) + " (see docs/errors.md)."
)
PARAMS_DESCRIPTION = "The values the message names (a file, a limit, a name), by name."
FIELD_DESCRIPTION = (
    "The request key or key path the mistake concerns (e.g. 'name', 'train.epochs'), or null."
)


class ErrorOut(BaseModel):
    """Why a request was refused: one message naming the problem and what is valid, and the
    same as a stable code with its parameters."""

    detail: str = Field(description="What is wrong and how to fix it (English).")
    code: str = Field(
        default="invalid_input", pattern="^[a-z][a-z0-9_]*$", description=CODE_DESCRIPTION
    )
    params: dict[str, Any] = Field(default_factory=dict, description=PARAMS_DESCRIPTION)
    field: str | None = Field(default=None, description=FIELD_DESCRIPTION)
    columns: list[TargetChoice] | None = Field(
        default=None,
        description="A table imported without a target: its columns, to choose the target from.",
    )


def error_body(error: UserError) -> dict[str, Any]:
    """The body answering ``error``: its message, code, parameters and field, plus the
    error's ``details`` where it has them (e.g. the columns of a table imported without a
    target)."""
    return {
        "detail": str(error),
        "code": error.code,
        "params": getattr(error, "params", {}),
        "field": getattr(error, "field", None),
        **getattr(error, "details", {}),
    }


def error_json(error: UserError) -> bytes:
    """:func:`error_body` as JSON (a parameter that is no JSON value is sent as its text)."""
    return json.dumps(error_body(error), default=str).encode()


async def answer_user_error(_request: Request, error: UserError) -> Response:
    """The exception handler of :class:`UserError`: ``error.http_status`` and its message."""
    return Response(error_json(error), error.http_status, media_type="application/json")


def field_of(loc: Sequence[Any]) -> str | None:
    """A validation problem's ``loc`` as a key path: its part (body, query, path, header)
    left out, e.g. ``["body", "config", "max_batch"]`` -> ``config.max_batch``."""
    parts = [str(part) for part in loc[1:]] if len(loc) > 1 else [str(part) for part in loc]
    return ".".join(parts) or None


async def answer_invalid_request(_request: Request, error: RequestValidationError) -> Response:
    """The exception handler of requests that do not match the API's schema: 422 with
    FastAPI's list of problems as ``detail`` (each with its ``field``), the code
    ``invalid_request`` and the first problem's field."""
    problems = jsonable_encoder(error.errors())
    for problem in problems:
        problem["field"] = field_of(problem.get("loc") or [])
    first = problems[0] if problems else {}
    body = {
        "detail": problems,
        "code": "invalid_request",
        "params": {"problems": len(problems), "message": str(first.get("msg", ""))},
        "field": first.get("field"),
    }
    return JSONResponse(body, 422)


def describe_error_bodies(schema: dict[str, Any]) -> None:
    """Add ``code``, ``params`` and ``field`` to the OpenAPI schemas of FastAPI's 422 body
    (``HTTPValidationError``) and ``field`` to each of its problems (``ValidationError``),
    as :func:`answer_invalid_request` answers them."""
    components = schema.get("components", {}).get("schemas", {})
    body = components.get("HTTPValidationError")
    if body is not None:
        body.setdefault("properties", {}).update(
            {
                "code": {"type": "string", "title": "Code", "description": CODE_DESCRIPTION},
                "params": {
                    "type": "object",
                    "title": "Params",
                    "additionalProperties": True,
                    "description": PARAMS_DESCRIPTION,
                },
                "field": {
                    "anyOf": [{"type": "string"}, {"type": "null"}],
                    "title": "Field",
                    "description": FIELD_DESCRIPTION,
                },
            }
        )
    problem = components.get("ValidationError")
    if problem is not None:
        problem.setdefault("properties", {})["field"] = {
            "anyOf": [{"type": "string"}, {"type": "null"}],
            "title": "Field",
            "description": "The key path of the problem: its loc without the request part.",
        }
