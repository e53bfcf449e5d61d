"""ASGI middleware that guards every request: who may call, from which site, and how big a
body may be.

No client is trusted for being local (as in Jupyter): every request carries the owner's or
another API token (``Authorization: Bearer``) or the console's session cookie, loopback
included. The console's own files, which hold no data, ``/v1/health`` and the login link
are open. The ``Host`` header must name this platform (loopback names, the address it
listens on, ``--allowed-hosts``), which defeats DNS rebinding; a state-changing request
from a browser must come from the platform's own origin, which defeats cross-site forms
and fetches. ``--no-auth`` lets loopback clients in without a credential (the Host and
Origin checks stay).

Request bodies are bounded: ``Content-Length`` beyond the limit is refused at once, and a
body sent without one is counted as it arrives (413 as soon as it passes the limit).
"""

from __future__ import annotations

import ipaddress
import json
import urllib.parse
from collections.abc import Callable
from typing import Any

import anyio

from athanor.errors import code_of_status
from athanor.server.console import is_console_path
from athanor.server.credentials import is_owner_token
from athanor.server.sessions import COOKIE_NAME, LOGIN_PATH, ConsoleSessions
from athanor.store.tokens import TokenRepository
from athanor.store.users import UserRepository

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]

OPEN_PATHS = frozenset({"/v1/health", LOGIN_PATH})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_loopback(host: str | None) -> bool:
    """Whether a client address is this machine (127.0.0.0/8, ::1, localhost)."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


async def _reply(
    send: Send,
    status: int,
    detail: str,
    headers: list | None = None,
    *,
    code: str | None = None,
    params: dict[str, Any] | None = None,
) -> None:
    """Answer ``status`` with an error body as the API's handlers give (its ``code`` by
    default the status's)."""
    answer = {
        "detail": detail,
        "code": code or code_of_status(status),
        "params": params or {},
        "field": None,
    }
    body = json.dumps(answer).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def host_name(header: str) -> str:
    """The host of a ``Host`` header or an origin's authority, lower-case, without port or
    IPv6 brackets (``""`` when it cannot be parsed)."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else ""
    name, _, _port = header.rpartition(":") if header.count(":") == 1 else (header, "", "")
    return name


def allowed_host_names(bound_host: str, extra: tuple[str, ...] = ()) -> frozenset[str]:
    """The names a request's ``Host`` may carry: loopback names, the address the server
    listens on (unless it is every interface) and ``extra`` (``--allowed-hosts``)."""
    names = set(LOOPBACK_NAMES)
    if bound_host not in ("0.0.0.0", "::", ""):
        names.add(host_name(f"[{bound_host}]" if ":" in bound_host else bound_host))
    names.update(host_name(name) for name in extra if name)
    return frozenset(names)


def _cookie(headers: dict[bytes, bytes], name: str) -> str | None:
    raw = headers.get(b"cookie", b"").decode("latin-1")
    for part in raw.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


class AccessGuard:
    """Checks ``Host``, ``Origin`` and the caller's credential; records who calls.

    The caller's user goes to ``request.state.principal`` and their role to
    ``request.state.role``: the user a token belongs to (``owner`` for the owner's token and
    for tokens made before users existed), the user a console session was opened for, or
    ``local`` with the admin role (a loopback client under ``--no-auth``).
    ``request.state.credential`` says how: ``owner token``, ``token``, ``session`` or
    ``local``; ``request.state.loopback`` says whether the client is on this machine.

    Args:
        app: the ASGI application.
        tokens: the API tokens.
        users: the users (each request reads its caller's role, so a change applies at once).
        sessions: the console's login links and sessions.
        allowed_hosts: the names a ``Host`` header may carry (see :func:`allowed_host_names`).
        no_auth: let loopback clients call without a credential.
        open_paths: paths anyone may call (health, login).
        console_files: serve the console's files (which hold no data) to anyone.
    """

    def __init__(
        self,
        app: Any,
        tokens: TokenRepository,
        users: UserRepository,
        sessions: ConsoleSessions | None = None,
        allowed_hosts: frozenset[str] = LOOPBACK_NAMES,
        no_auth: bool = False,
        open_paths: frozenset[str] = OPEN_PATHS,
        console_files: bool = True,
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.users = users
        self.sessions = sessions
        self.allowed_hosts = allowed_hosts
        self.no_auth = no_auth
        self.open_paths = open_paths
        self.console_files = console_files

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        host_header = headers.get(b"host", b"").decode("latin-1")
        if host_name(host_header) not in self.allowed_hosts:
            await _reply(
                send,
                400,
                f"the Host header {host_header!r} does not name this server; start it with "
                f"'--allowed-hosts {host_name(host_header) or 'NAME'}' if that is its name",
                code="host_not_allowed",
                params={"host": host_name(host_header)},
            )
            return
        method = scope.get("method", "GET")
        refusal = (
            self._cross_site_refusal(headers, host_header) if method not in SAFE_METHODS else None
        )
        if refusal:
            await _reply(send, 403, refusal)
            return
        client = scope.get("client")
        loopback = is_loopback(client[0] if client else None)
        state = scope.setdefault("state", {})
        state["loopback"] = loopback
        path = scope.get("path") or ""
        principal = role = credential = None
        header = headers.get(b"authorization", b"").decode("latin-1")
        if header:
            scheme, _, secret = header.partition(" ")
            token = user = None
            if scheme.lower() == "bearer" and secret.strip():
                token = await anyio.to_thread.run_sync(self.tokens.verify, secret.strip())
            if token is not None:
                user = await anyio.to_thread.run_sync(self.users.get, token.user)
            if token is None or user is None:
                await _reply(
                    send,
                    401,
                    "the API token is invalid or revoked; create one with 'athanor token "
                    "create NAME' and send 'Authorization: Bearer <token>'",
                    [(b"www-authenticate", b'Bearer error="invalid_token"')],
                )
                return
            principal, role = user.name, user.role
            credential = "owner token" if is_owner_token(token.name) else "token"
        elif self.sessions is not None and (session := _cookie(headers, COOKIE_NAME)):
            name = self.sessions.principal_of(session)
            user = None if name is None else await anyio.to_thread.run_sync(self.users.get, name)
            if user is not None:  # a removed user's session ends with them
                principal, role, credential = user.name, user.role, "session"
        if principal is None and self.no_auth and loopback:
            principal, role, credential = "local", "admin", "local"
        open_path = path in self.open_paths or (self.console_files and is_console_path(path))
        if principal is None and not open_path:
            await _reply(
                send,
                401,
                "a credential is required: the CLI sends the owner's token from "
                "ATHANOR_HOME/token; other clients send 'Authorization: Bearer <token>' "
                "('athanor token create NAME'); the console signs in through the link "
                "'athanor console' prints",
                [(b"www-authenticate", b"Bearer")],
            )
            return
        state["principal"] = principal or "anonymous"
        state["role"] = role
        state["credential"] = credential
        await self.app(scope, receive, send)

    def _cross_site_refusal(self, headers: dict[bytes, bytes], host_header: str) -> str | None:
        """Why a state-changing request looks cross-site, or ``None``.

        Browsers send ``Origin`` with every cross-origin request and with same-origin ones
        that change state; ``Sec-Fetch-Site`` says the same where it is sent. Clients that
        are not browsers send neither.
        """
        site = headers.get(b"sec-fetch-site", b"").decode("latin-1").lower()
        if site == "cross-site":
            return "a request from another site was refused (Sec-Fetch-Site: cross-site)"
        origin = headers.get(b"origin", b"").decode("latin-1").strip()
        if not origin:
            return None
        parsed = urllib.parse.urlsplit(origin)
        if origin == "null" or parsed.scheme not in ("http", "https"):
            return f"a request from origin {origin!r} was refused: only this server's own pages"
        if parsed.netloc.lower() != host_header.strip().lower():
            return (
                f"a request from origin {origin!r} was refused: it is not this server "
                f"({host_header}); cross-origin requests are closed"
            )
        return None


BODY_TOO_LARGE = "athanor.body_too_large"
"""Set in the request's scope when its body was cut at the limit."""


class BodyLimit:
    """Refuses request bodies larger than ``limit_for(path)`` bytes with 413.

    A body without ``Content-Length`` is cut at the limit: the application sees it end
    there (``scope[BODY_TOO_LARGE]`` is set), and its answer is replaced by the 413.
    """

    def __init__(self, app: Any, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = dict(scope.get("headers") or []).get(b"content-length")
        message = f"the request body is larger than this endpoint's limit of {limit:,} bytes"
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                await _reply(send, 400, "the Content-Length header is not a number")
                return
            if too_big:
                await _reply(send, 413, message, code="request_too_large", params={"limit": limit})
                return
        received = 0
        replaced = False

        async def counted() -> dict[str, Any]:
            nonlocal received
            if scope.get(BODY_TOO_LARGE):
                return {"type": "http.disconnect"}
            event = await receive()
            if event["type"] == "http.request":
                received += len(event.get("body", b""))
                if received > limit:
                    scope[BODY_TOO_LARGE] = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return event

        async def answer(event: dict[str, Any]) -> None:
            nonlocal replaced
            if scope.get(BODY_TOO_LARGE):
                if not replaced:
                    replaced = True
                    await _reply(
                        send, 413, message, code="request_too_large", params={"limit": limit}
                    )
                return  # the application's own answer to the cut body is dropped
            await send(event)

        await self.app(scope, counted, answer)
