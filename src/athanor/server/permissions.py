"""Who may call what, and the audit trail of what they did: one table for the whole API.

Every route is matched by its method and path template against :data:`WRITES` (changes)
and :data:`READS` (reads that need more than the viewer role, and POSTs that change
nothing); any other ``GET`` is a read that every user may make, and any change missing from
the table needs the admin role (a test keeps the table complete). The ``authorize``
dependency applies it to every route; a refusal is a 403 whose message names the user,
their role and the role needed. :class:`AuditTrail` records each successful change that
the table marks with an audit action, with the caller's user.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
from fastapi import Request

from athanor.errors import PermissionDenied
from athanor.store.audit import AuditRepository
from athanor.store.users import role_rank

Scope = dict[str, Any]
Ident = Callable[[dict[str, Any], Any], str]
"""Makes an audit entry's object id or detail from the path parameters and the answer."""

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
NO_ROLE_NEEDED = "viewer"


def _param(name: str) -> Ident:
    return lambda params, _body: str(params.get(name, ""))


def _field(*names: str) -> Ident:
    def ident(_params: dict[str, Any], body: Any) -> str:
        if not isinstance(body, dict):
            return ""
        return " ".join(f"{body[name]}" for name in names if body.get(name) not in (None, ""))

    return ident


def _fixed(text: str) -> Ident:
    return lambda _params, _body: text


def _both(first: Ident, second: Ident, between: str = " ") -> Ident:
    return lambda params, body: between.join(
        part for part in (first(params, body), second(params, body)) if part
    )


NOTHING = _fixed("")


@dataclass(frozen=True)
class Permission:
    """What a route needs, and what the audit trail records when it succeeds.

    Attributes:
        family: the route family (a section of the documentation's table).
        role: the weakest role allowed.
        doing: what the route does, for refusals ("submitting jobs needs the editor role").
        action: the audit entry's action (``None``: not recorded: a read, or recorded by the
            store in the change's own transaction).
        object_kind: the audited object's kind.
        object_id: the audited object's id, from the path parameters and the answer.
        detail: a short detail.
    """

    family: str
    role: str
    doing: str
    action: str | None = None
    object_kind: str = ""
    object_id: Ident = NOTHING
    detail: Ident = NOTHING


def _write(
    family: str,
    role: str,
    doing: str,
    action: str | None,
    kind: str = "",
    object_id: Ident = NOTHING,
    detail: Ident = NOTHING,
) -> Permission:
    return Permission(family, role, doing, action, kind, object_id, detail)


_PROJECT = _param("name")
_LABEL_COUNT = _both(_fixed("updated"), _field("updated"))

WRITES: dict[tuple[str, str], Permission] = {
    # jobs (training runs and searches are jobs; a job's run shares its id)
    ("POST", "/v1/jobs"): _write(
        "jobs", "editor", "submitting jobs", "submit", "job", _field("id"), _field("name")
    ),
    ("POST", "/v1/jobs/{job_id}/cancel"): _write(
        "jobs", "editor", "cancelling jobs", "cancel", "job", _param("job_id"), _field("name")
    ),
    ("POST", "/v1/jobs/{job_id}/resume"): _write(
        "jobs", "editor", "resuming jobs", "resume", "job", _param("job_id"), _field("name")
    ),
    ("DELETE", "/v1/runs/{run_id}"): _write(
        "runs", "editor", "deleting runs", "delete", "run", _param("run_id")
    ),
    ("POST", "/v1/runs/{run_id}/restore"): _write(
        "runs", "editor", "restoring runs", "restore", "run", _param("run_id"), _field("name")
    ),
    # data
    ("DELETE", "/v1/datasets/{name}/versions"): _write(
        "datasets", "editor", "deleting datasets", "delete", "dataset", _param("name")
    ),
    ("DELETE", "/v1/datasets/{name}/versions/{version}"): _write(
        "datasets",
        "editor",
        "deleting dataset versions",
        "delete",
        "dataset version",
        _both(_param("name"), _param("version"), "@"),
    ),
    ("POST", "/v1/datasets"): _write(
        "datasets",
        "editor",
        "importing data",
        "import",
        "dataset version",
        _field("ref"),
        _field("kind", "rows"),
    ),
    ("POST", "/v1/datasets/imports/path"): _write(
        "datasets",
        "editor",
        "importing data",
        "import",
        "dataset version",
        _field("ref"),
        _field("kind", "rows"),
    ),
    # Uploads are a staging area that an import then reads: the import is what is audited.
    ("POST", "/v1/uploads"): _write("datasets", "editor", "uploading data", None),
    ("PUT", "/v1/uploads/{upload_id}/files/{path}"): _write(
        "datasets", "editor", "uploading data", None
    ),
    ("DELETE", "/v1/uploads/{upload_id}"): _write("datasets", "editor", "uploading data", None),
    # models
    ("POST", "/v1/models"): _write(
        "models",
        "editor",
        "registering models",
        "register",
        "model version",
        _field("ref"),
        _both(_fixed("from run"), _field("run_id")),
    ),
    ("POST", "/v1/models/{ref}/quantized"): _write(
        "models",
        "editor",
        "registering models",
        "register",
        "model version",
        _field("ref"),
        _both(_fixed("INT8 of"), _param("ref")),
    ),
    ("PUT", "/v1/models/{name}/aliases/{alias}"): _write(
        "models",
        "editor",
        "moving model aliases",
        "set alias",
        "model alias",
        _both(_param("name"), _param("alias"), "@"),
        _both(_fixed("->"), _field("ref")),
    ),
    ("DELETE", "/v1/models/{name}/aliases/{alias}"): _write(
        "models",
        "editor",
        "moving model aliases",
        "remove alias",
        "model alias",
        _both(_param("name"), _param("alias"), "@"),
    ),
    ("DELETE", "/v1/models/{name}/versions/{version}"): _write(
        "models",
        "editor",
        "deleting model versions",
        "delete",
        "model version",
        _both(_param("name"), _param("version"), "@"),
    ),
    # deployments
    ("POST", "/v1/deployments"): _write(
        "deployments",
        "editor",
        "deploying models",
        "deploy",
        "deployment",
        _field("name"),
        _field("model"),
    ),
    ("POST", "/v1/deployments/{name}/stop"): _write(
        "deployments", "editor", "stopping deployments", "stop", "deployment", _param("name")
    ),
    ("POST", "/v1/deployments/{name}/start"): _write(
        "deployments", "editor", "starting deployments", "start", "deployment", _param("name")
    ),
    ("DELETE", "/v1/deployments/{name}"): _write(
        "deployments", "editor", "stopping deployments", "stop", "deployment", _param("name")
    ),
    # labeling
    ("POST", "/v1/label/projects"): _write(
        "labeling",
        "editor",
        "creating labeling projects",
        "create",
        "label project",
        _field("name"),
        _field("dataset"),
    ),
    ("PATCH", "/v1/label/projects/{name}"): _write(
        "labeling", "editor", "changing labeling projects", "change", "label project", _PROJECT
    ),
    ("POST", "/v1/label/projects/{name}/labels"): _write(
        "labeling", "editor", "labeling", "label", "label project", _PROJECT, _LABEL_COUNT
    ),
    ("PUT", "/v1/label/projects/{name}/items/{item}/boxes"): _write(
        "labeling", "editor", "labeling", "label boxes", "label project", _PROJECT, _LABEL_COUNT
    ),
    ("POST", "/v1/label/projects/{name}/accept"): _write(
        "labeling",
        "editor",
        "labeling",
        "accept pre-labels",
        "label project",
        _PROJECT,
        _LABEL_COUNT,
    ),
    ("POST", "/v1/label/projects/{name}/review"): _write(
        "labeling", "editor", "labeling", "review", "label project", _PROJECT, _LABEL_COUNT
    ),
    ("POST", "/v1/label/projects/{name}/prelabel"): _write(
        "labeling",
        "editor",
        "pre-labeling",
        "pre-label",
        "label project",
        _PROJECT,
        _field("model"),
    ),
    ("POST", "/v1/label/projects/{name}/train"): _write(
        "labeling",
        "editor",
        "training from labels",
        "submit",
        "job",
        _field("job_id"),
        _both(_fixed("from project"), _PROJECT),
    ),
    ("POST", "/v1/label/projects/{name}/publish"): _write(
        "labeling",
        "editor",
        "publishing labels",
        "publish",
        "dataset version",
        _field("dataset"),
        _both(_fixed("from project"), _PROJECT),
    ),
    ("POST", "/v1/label/projects/{name}/import"): _write(
        "labeling",
        "editor",
        "importing labels",
        "import labels",
        "label project",
        _PROJECT,
        _both(_fixed("imported"), _field("imported")),
    ),
    # users: the store records these in the change's own transaction
    ("POST", "/v1/workers"): _write(
        "workers", "admin", "joining workers", "join", "worker", _field("name")
    ),
    ("POST", "/v1/users"): _write("users", "admin", "managing users", None),
    ("PATCH", "/v1/users/{name}"): _write("users", "admin", "managing users", None),
    ("DELETE", "/v1/users/{name}"): _write("users", "admin", "managing users", None),
}
"""Every route that changes something: the role it needs and how it is audited."""

READS: dict[tuple[str, str], Permission] = {
    ("GET", "/v1/users"): Permission("users", "admin", "listing users"),
    # POSTs that change nothing a user owns: a prediction, a check, an estimate, a sign-in.
    ("POST", "/v1/deployments/{name}/predict"): Permission("deployments", "viewer", "predicting"),
    ("POST", "/v1/deployments/{name}/generate"): Permission("deployments", "viewer", "generating"),
    ("POST", "/v2/models/{name}/infer"): Permission("deployments", "viewer", "predicting"),
    ("POST", "/v2/models/{name}/versions/{version}/infer"): Permission(
        "deployments", "viewer", "predicting"
    ),
    ("POST", "/v1/specs/check"): Permission("specs", "viewer", "checking specs"),
    ("POST", "/v1/specs/estimate"): Permission("specs", "viewer", "estimating"),
    ("POST", "/v1/lab/convolution"): Permission("lab", "viewer", "convolving"),
    ("POST", "/v1/lab/cnn"): Permission("lab", "viewer", "showing what a CNN sees"),
    ("POST", "/v1/lab/cnn/explain"): Permission("lab", "viewer", "explaining predictions"),
    ("POST", "/v1/lab/playground/steps"): Permission("lab", "viewer", "training the playground"),
    ("POST", "/v1/lab/playground/run"): Permission("lab", "viewer", "writing a playground spec"),
    ("POST", "/v1/lab/optimizers/race"): Permission("lab", "viewer", "racing optimizers"),
    # The owner-only rule of sign-in links is the route's own (see routes/auth.py).
    ("POST", "/v1/auth/login-links"): Permission("auth", "viewer", "signing in"),
    ("POST", "/v1/auth/logout"): Permission("auth", "viewer", "signing out"),
}
"""Reads that need more than the viewer role, and requests that read though they POST."""

UNLISTED_CHANGE = Permission("other", "admin", "a change the permission table does not name")
_CONVERTER = re.compile(r"\{(\w+):\w+\}")


def permission_for(method: str, path: str) -> Permission:
    """What a request to the route ``path`` (its template) with ``method`` needs."""
    key = (method.upper(), _CONVERTER.sub(r"{\1}", path))  # '{path:path}' is '{path}'
    path = key[1]
    if key in WRITES:
        return WRITES[key]
    if key in READS:
        return READS[key]
    if key[0] in READ_METHODS:
        family = path.removeprefix("/v1/").split("/")[0] or "platform"
        return Permission(family, NO_ROLE_NEEDED, "reading")
    return UNLISTED_CHANGE


def refusal(user: str, role: str, permission: Permission) -> str | None:
    """Why ``user`` with ``role`` may not do what ``permission`` guards, or ``None``."""
    if role_rank(role) >= role_rank(permission.role):
        return None
    article = "an" if role[0] in "aeiou" else "a"
    return f"user {user!r} is {article} {role}; {permission.doing} needs the {permission.role} role"


def caller(request: Request) -> tuple[str, str | None]:
    """The calling user's name and role (``None`` before sign-in, on open paths)."""
    return (
        getattr(request.state, "principal", "anonymous"),
        getattr(request.state, "role", None),
    )


def authorize(request: Request) -> None:
    """The dependency on every route: refuse a caller whose role is too weak (403).

    Raises:
        PermissionDenied: the caller's role is weaker than the route needs.
    """
    route = request.scope.get("route")
    user, role = caller(request)
    if route is None or role is None:  # an open path (health, sign-in) without a credential
        return
    reason = refusal(user, role, permission_for(request.method, route.path))
    if reason:
        raise PermissionDenied(reason)


def require_role(request: Request, role: str, doing: str) -> None:
    """Refuse the caller unless they have ``role`` (for rules that depend on a request's
    parameters, such as reading another user's audit entries).

    Raises:
        PermissionDenied: a weaker role.
    """
    user, current = caller(request)
    reason = refusal(user, current or "viewer", Permission("", role, doing))
    if reason:
        raise PermissionDenied(reason)


class AuditTrail:
    """ASGI middleware: records each successful change that :data:`WRITES` audits.

    The answer is held back until its entry is written, so a client that reads the audit
    trail right after a change finds it there.
    """

    def __init__(self, app: Any, audit: AuditRepository, max_body_bytes: int = 1 << 20) -> None:
        self.app = app
        self.audit = audit
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method", "GET") in READ_METHODS:
            await self.app(scope, receive, send)
            return
        held: list[dict[str, Any]] = []
        size = 0
        passing = False

        async def hold(event: dict[str, Any]) -> None:
            nonlocal size, passing
            if not held and not passing and not self._audited(scope):
                passing = True  # routing is done by the first event: nothing to record
            if passing:
                await send(event)
                return
            held.append(event)
            if event["type"] == "http.response.body":
                size += len(event.get("body", b""))
                if not event.get("more_body", False) or size > self.max_body_bytes:
                    passing = True
                    await self._record(scope, held)
                    for waiting in held:
                        await send(waiting)

        await self.app(scope, receive, hold)

    @staticmethod
    def _audited(scope: Scope) -> bool:
        route = scope.get("route")
        return route is not None and (
            permission_for(scope["method"], route.path).action is not None
        )

    async def _record(self, scope: Scope, events: list[dict[str, Any]]) -> None:
        route = scope.get("route")
        start = events[0]
        if route is None or start.get("type") != "http.response.start":
            return
        if not 200 <= start["status"] < 300:
            return
        permission = permission_for(scope["method"], route.path)
        if permission.action is None:
            return
        body: Any = None
        raw = b"".join(event.get("body", b"") for event in events[1:])
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
        params = scope.get("path_params") or {}
        user = (scope.get("state") or {}).get("principal", "anonymous")
        await anyio.to_thread.run_sync(
            self.audit.record,
            user,
            permission.action,
            permission.object_kind,
            permission.object_id(params, body),
            permission.detail(params, body),
        )
