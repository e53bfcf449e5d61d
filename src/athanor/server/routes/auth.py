"""``/login`` and ``/v1/auth``: the console signs in with a one-time link; the owner asks for
new links and anyone signs out."""

from __future__ import annotations

import html

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from athanor.server.routes import NAME, Context, errors, principal
from athanor.server.schemas import LoginLinkOut
from athanor.server.sessions import COOKIE_NAME, LOGIN_PATH

router = APIRouter(tags=["auth"])

_EXPIRED_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Athanor: sign in</title>
</head><body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<h1>This sign-in link cannot be used</h1><p>{why}</p>
<p>Run <code>athanor console</code> on the platform's machine for a new link.</p>
<p lang="zh">此登录链接无法使用。请在平台所在的机器上运行
<code>athanor console</code> 获取新链接。</p>
</body></html>"""


@router.get(LOGIN_PATH, include_in_schema=False)
def login(
    context: Context,
    token: str = Query("", max_length=200),
    next_page: str = Query("/", alias="next", max_length=2000),
) -> Response:
    """Spend a one-time login token: set the session cookie and go to the console."""
    session = context.sessions.open_session(token) if token else None
    if session is None:
        why = "It was used already, it expired, or it is not this platform's."
        return HTMLResponse(_EXPIRED_PAGE.format(why=html.escape(why)), status_code=401)
    # Only a page of this server: no scheme, no host, no protocol-relative '//'.
    target = next_page if next_page.startswith("/") and not next_page.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        session,
        max_age=int(context.sessions.session_lifetime_s),
        httponly=True,
        samesite="strict",
        secure=context.url.startswith("https://"),
        path="/",
    )
    return response


@router.post(
    "/v1/auth/login-links",
    response_model=LoginLinkOut,
    status_code=201,
    responses=errors(403, 404),
    summary="A new one-time console sign-in link",
)
def new_login_link(
    request: Request,
    context: Context,
    user: str | None = Query(
        None,
        pattern=f"^{NAME}$",
        description="Sign in as this user (default: the caller; 'owner' for the owner's token).",
    ),
) -> LoginLinkOut:
    """A console URL that signs its first visitor in as a user: the owner's token, or a
    console session of an admin, only."""
    credential = getattr(request.state, "credential", None)
    admin_session = credential == "session" and getattr(request.state, "role", None) == "admin"
    if credential not in ("owner token", "local") and not admin_session:
        raise HTTPException(403, "only the platform's owner may create sign-in links")
    if user is None:
        user = principal(request) if credential == "session" else "owner"
    context.store.users.require(user)
    token = context.sessions.new_login_token(user)
    return LoginLinkOut(url=f"{context.url}{LOGIN_PATH}?token={token}")


@router.post("/v1/auth/logout", status_code=204, summary="Sign the console out")
def logout(request: Request, context: Context) -> Response:
    """End the console's session and clear its cookie."""
    session = request.cookies.get(COOKIE_NAME)
    if session:
        context.sessions.close(session)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict")
    return response
