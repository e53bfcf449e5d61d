"""ASGI middleware that guards every request: who may call, and how big a body may be.

Clients on the loopback interface (the machine itself) may call without a token; any other
client must send ``Authorization: Bearer <token>`` with a token from ``athanor token
create`` (the console's own files, which hold no data, are served to anyone). A token that
is sent is always checked, from anywhere. Behind a reverse proxy on the same machine, the
proxy's ``X-Forwarded-For`` names the real client (uvicorn applies it for proxies on
127.0.0.1), so remote clients need tokens there too.

Request bodies are bounded: ``Content-Length`` beyond the limit is refused at once, and a
body sent without one is counted as it arrives (413 as soon as it passes the limit).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from typing import Any

import anyio

from athanor.server.console import is_console_path
from athanor.store.tokens import TokenRepository

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]

OPEN_PATHS = frozenset({"/v1/health"})


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


async def _reply(send: Send, status: int, detail: str, headers: list | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
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


class TokenGuard:
    """Requires a valid API token from non-loopback clients; records who calls.

    The caller's name goes to ``request.state.principal``: the token's name, or ``local``.
    """

    def __init__(self, app: Any, tokens: TokenRepository) -> None:
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        host = client[0] if client else None
        header = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
        principal = "local" if is_loopback(host) else None
        if header:
            scheme, _, secret = header.partition(" ")
            token = None
            if scheme.lower() == "bearer" and secret.strip():
                token = await anyio.to_thread.run_sync(self.tokens.verify, secret.strip())
            if token is None:
                await _reply(
                    send,
                    401,
                    "the API token is invalid or revoked; create one with 'athanor token "
                    "create NAME' and send 'Authorization: Bearer <token>'",
                    [(b"www-authenticate", b'Bearer error="invalid_token"')],
                )
                return
            principal = f"token {token.name}"
        path = scope.get("path") or ""
        if principal is None and path not in OPEN_PATHS and not is_console_path(path):
            await _reply(
                send,
                401,
                f"a token is required for clients beyond this machine ({host}): create one "
                "with 'athanor token create NAME' on the platform's machine and send "
                "'Authorization: Bearer <token>'",
                [(b"www-authenticate", b"Bearer")],
            )
            return
        scope.setdefault("state", {})["principal"] = principal or "anonymous"
        await self.app(scope, receive, send)


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
                await _reply(send, 413, message)
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
                    await _reply(send, 413, message)
                return  # the application's own answer to the cut body is dropped
            await send(event)

        await self.app(scope, counted, answer)
