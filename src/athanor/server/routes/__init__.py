"""The API's endpoints, one module per resource."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Request

from athanor.server.context import PlatformContext
from athanor.server.schemas import ErrorOut

MAX_ID = 2**62


def get_context(request: Request) -> PlatformContext:
    return request.app.state.context


Context = Annotated[PlatformContext, Depends(get_context)]
NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}"

JobId = Annotated[
    int, Path(ge=1, le=MAX_ID, description="The job's id (its run's id).", examples=[1])
]
RunId = Annotated[int, Path(ge=1, le=MAX_ID, description="The run's id.", examples=[1])]


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses an endpoint answers with."""
    described = {
        400: "The request is invalid; the message says why and what is valid.",
        404: "No such resource.",
        403: "The caller may not do this.",
        405: "The path does not name a resource this method applies to (e.g. an id that is "
        "not a number).",
        409: "The resource's state does not allow this.",
        413: "The request body is too large.",
        415: "A content type the endpoint does not read.",
        422: "Inputs that do not fit the model, and why.",
    }
    return {code: {"model": ErrorOut, "description": described[code]} for code in codes}


def principal(request: Request) -> str:
    """Who is calling: the user of the caller's token or console session (``owner`` for the
    owner's token and tokens made before users existed), or ``local`` (a loopback client
    under ``--no-auth``)."""
    return getattr(request.state, "principal", "anonymous")


def is_local_client(request: Request) -> bool:
    """Whether the caller's connection comes from this machine."""
    return bool(getattr(request.state, "loopback", False))
