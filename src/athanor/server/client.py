"""A small client of the platform's REST API (standard library only), used by the CLI.

The platform is found through ``ATHANOR_URL``, else ``$ATHANOR_HOME/platform.json``; the
bearer token sent is ``ATHANOR_TOKEN`` when set, else the owner's token that ``athanor up``
keeps in ``$ATHANOR_HOME/token``. Every operation named in
:data:`OPERATIONS` is an operation of the API's OpenAPI schema (a test checks it).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from athanor.errors import ERROR_CODES, Conflict, NotFound, UserError
from athanor.settings import Settings, current_settings

OPERATIONS: dict[str, tuple[str, str]] = {
    "health": ("GET", "/v1/health"),
    "new_login_link": ("POST", "/v1/auth/login-links"),
    "platform": ("GET", "/v1/platform"),
    "submit_job": ("POST", "/v1/jobs"),
    "list_jobs": ("GET", "/v1/jobs"),
    "get_job": ("GET", "/v1/jobs/{job_id}"),
    "cancel_job": ("POST", "/v1/jobs/{job_id}/cancel"),
    "read_job_log": ("GET", "/v1/jobs/{job_id}/logs"),
    "follow_job_log": ("GET", "/v1/jobs/{job_id}/logs/stream"),
    "get_run_metrics": ("GET", "/v1/runs/{run_id}/metrics"),
    "list_deployments": ("GET", "/v1/deployments"),
    "create_deployment": ("POST", "/v1/deployments"),
    "delete_deployment": ("DELETE", "/v1/deployments/{name}"),
    "stop_deployment": ("POST", "/v1/deployments/{name}/stop"),
    "start_deployment": ("POST", "/v1/deployments/{name}/start"),
    "predict_deployment": ("POST", "/v1/deployments/{name}/predict"),
    "join_worker": ("POST", "/v1/workers"),
}


class PlatformUnavailable(UserError):
    """No platform runs, or it does not answer."""


@dataclass(frozen=True)
class Event:
    """One server-sent event."""

    kind: str
    data: str
    id: str | None = None

    def json(self) -> Any:
        return json.loads(self.data)


def find_platform_url(settings: Settings | None = None) -> str:
    """The running platform's URL: ``ATHANOR_URL``, else ``platform.json``.

    Raises:
        PlatformUnavailable: none is running (or its platform.json is stale).
    """
    configured = os.environ.get("ATHANOR_URL", "").strip()
    if configured:
        return configured.rstrip("/")
    from athanor.server.platform_file import platform_file, read_platform_file

    settings = settings or current_settings()
    info = read_platform_file(settings)
    if info is None:
        raise PlatformUnavailable(
            f"no platform is running on {settings.home}: start one with 'athanor up' "
            "(or set ATHANOR_URL to a platform's URL)"
        )
    if not info.alive():
        raise PlatformUnavailable(
            f"the platform recorded in {platform_file(settings)} (pid {info.pid}) is not "
            "running; start it again with 'athanor up'"
        )
    return info.url.rstrip("/")


class PlatformClient:
    """Calls the platform's REST API.

    Args:
        url: the platform's base URL (default: found, see :func:`find_platform_url`).
        token: the API token (default: ``ATHANOR_TOKEN``, else the owner's token in
            ``$ATHANOR_HOME/token``; ``""``: send none).
        timeout: seconds to wait for an answer (default 60).
    """

    def __init__(
        self, url: str | None = None, *, token: str | None = None, timeout: float = 60.0
    ) -> None:
        self.discovered = url is None  # found through ATHANOR_URL or platform.json
        self.url = (url or find_platform_url()).rstrip("/")
        if token is None:
            from athanor.server.credentials import read_owner_token

            token = os.environ.get("ATHANOR_TOKEN") or read_owner_token(current_settings())
        self.token = token or None
        self.timeout = timeout

    # --- plumbing ----------------------------------------------------------------------

    def _address(self, operation: str, params: dict[str, Any] | None, **path: Any) -> str:
        _method, template = OPERATIONS[operation]
        address = self.url + template.format(**path)
        query = {k: v for k, v in (params or {}).items() if v is not None}
        return address + ("?" + urllib.parse.urlencode(query) if query else "")

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Accept": "application/json", **(extra or {})}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _open(self, request: urllib.request.Request, timeout: float | None):
        try:
            return urllib.request.urlopen(request, timeout=timeout)
        except urllib.error.HTTPError as error:
            try:
                body = json.loads(error.read().decode() or "{}")
                detail = body.get("detail")
            except (ValueError, AttributeError):
                body, detail = {}, None
            if isinstance(detail, list):  # a request that does not match the schema
                detail = "; ".join(
                    f"{'.'.join(str(p) for p in item.get('loc', []))}: {item.get('msg')}"
                    for item in detail
                )
            message = str(detail or f"HTTP {error.code} {error.reason}")
            # The body's code, params and field travel with the error (a code this client
            # does not know, from a newer platform, leaves the class's).
            code, params, field = body.get("code"), body.get("params"), body.get("field")
            extra: dict[str, Any] = {
                "code": code if code in ERROR_CODES else None,
                "params": params if isinstance(params, dict) else None,
                "field": field if isinstance(field, str) else None,
            }
            if error.code == 404:
                raise NotFound(message, **extra) from None
            if error.code == 409:
                raise Conflict(message, **extra) from None
            raise UserError(message, **extra) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            reason = getattr(error, "reason", error)
            raise PlatformUnavailable(
                f"the platform at {self.url} does not answer ({reason}); is it running? "
                "'athanor up' starts it"
            ) from None

    def call(
        self,
        operation: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        **path: Any,
    ) -> Any:
        """Call an operation of :data:`OPERATIONS`; returns the decoded JSON answer.

        Raises:
            NotFound, Conflict, UserError: the platform refused, with its message.
            PlatformUnavailable: the platform does not answer.
        """
        method, _template = OPERATIONS[operation]
        data = None
        headers = self._headers()
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(
            self._address(operation, params, **path), data=data, method=method, headers=headers
        )
        with self._open(request, self.timeout) as response:
            payload = response.read()
        return json.loads(payload) if payload else None

    def events(
        self, operation: str, *, params: dict[str, Any] | None = None, **path: Any
    ) -> Iterator[Event]:
        """Server-sent events of a streaming operation, as they come."""
        request = urllib.request.Request(
            self._address(operation, params, **path),
            headers=self._headers({"Accept": "text/event-stream"}),
        )
        with self._open(request, None) as response:
            kind, data, event_id = "message", [], None
            for raw in response:
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                if not line:
                    if data:
                        yield Event(kind, "\n".join(data), event_id)
                    kind, data, event_id = "message", [], None
                elif line.startswith(":"):
                    continue
                else:
                    field, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if field == "event":
                        kind = value
                    elif field == "data":
                        data.append(value)
                    elif field == "id":
                        event_id = value

    # --- operations --------------------------------------------------------------------

    def submit_job(
        self, spec_yaml: str, *, filename: str = "spec.yaml", overrides: list[str] | None = None
    ) -> dict[str, Any]:
        """Queue a job from YAML text (errors name ``filename`` and its lines); returns it."""
        body = {"spec": spec_yaml, "filename": filename, "overrides": overrides or []}
        return self.call("submit_job", body=body)

    def follow_log(self, job_id: int, offset: int = 0) -> Iterator[Event]:
        """The job's log events until it ends; reconnects (from the last line) if the
        connection drops, e.g. while the platform restarts (found again through
        platform.json when this client found it so)."""
        tries = 0
        while True:
            try:
                for event in self.events(
                    "follow_job_log", params={"offset": offset}, job_id=job_id
                ):
                    tries = 0
                    if event.id is not None and event.id.isdigit():
                        offset = int(event.id)
                    yield event
                    if event.kind == "end":
                        return
            except (PlatformUnavailable, ConnectionError, OSError):
                if self.discovered:  # a platform started again may listen elsewhere
                    with contextlib.suppress(PlatformUnavailable):
                        self.url = find_platform_url().rstrip("/")
            tries += 1
            if tries > 30:
                raise PlatformUnavailable(
                    f"lost the platform at {self.url} while following job {job_id}'s log"
                )
            time.sleep(1.0)
