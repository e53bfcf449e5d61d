"""``/v1/users`` (admins manage users) and ``/v1/me`` (anyone: who am I)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from athanor.server.routes import NAME, Context, errors, principal
from athanor.server.schemas import (
    MeOut,
    RoleChange,
    UserCreate,
    UserCreatedOut,
    UserOut,
    UserRemovedOut,
)

router = APIRouter(tags=["users"])

UserName = Annotated[
    str, Path(pattern=f"^{NAME}$", description="The user's name.", examples=["ann"])
]


@router.get("/v1/me", response_model=MeOut, summary="The calling user and their role")
def me(request: Request) -> MeOut:
    return MeOut(
        name=principal(request),
        role=request.state.role,
        credential=request.state.credential,
    )


@router.get("/v1/users", response_model=list[UserOut], summary="List users")
def list_users(context: Context) -> list[dict]:
    return [user.to_json() for user in context.store.users.list()]


@router.post(
    "/v1/users",
    status_code=201,
    response_model=UserCreatedOut,
    responses=errors(400, 409),
    summary="Add a user (with a first token)",
)
def add_user(body: UserCreate, request: Request, context: Context) -> dict:
    """Add a user with a role; the answer holds their first API token, shown only now."""
    user, token, secret = context.store.users.add(body.name, body.role, actor=principal(request))
    return {**user.to_json(), "token": secret, "token_name": token.name}


@router.patch(
    "/v1/users/{name}",
    response_model=UserOut,
    responses=errors(404, 409),
    summary="Change a user's role",
)
def set_role(name: UserName, body: RoleChange, request: Request, context: Context) -> dict:
    """Give a user another role (409: it would leave no admin)."""
    return context.store.users.set_role(name, body.role, actor=principal(request)).to_json()


@router.delete(
    "/v1/users/{name}",
    response_model=UserRemovedOut,
    responses=errors(404, 409),
    summary="Remove a user and revoke their tokens",
)
def remove_user(name: UserName, request: Request, context: Context) -> dict:
    """Remove a user; their tokens and console sessions stop working at once (409: the
    last admin)."""
    user, revoked = context.store.users.remove(name, actor=principal(request))
    return {**user.to_json(), "tokens_revoked": revoked}
