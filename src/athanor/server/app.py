"""The platform's REST API: ``create_app(context)`` builds the FastAPI application.

Every error a client can cause is answered with a 4xx and ``{"detail": message, "code": ...,
"params": {...}, "field": ...}`` (see :mod:`athanor.errors`): a
:class:`~athanor.errors.UserError` with its class's ``http_status`` (400 invalid input, 404,
409, 413, 415, 422 inputs that do not fit a model: see :mod:`athanor.errors`), by the same
handler as the model server's; 401 without a valid token from beyond this machine; 403 when
the caller's role does not allow the route (:mod:`athanor.server.permissions`); 413 for
bodies over the limit; 422 for requests that do not match the schema. A 500 is a bug.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from athanor import __version__
from athanor.errors import UserError, code_of_status
from athanor.serve.error_responses import (
    answer_invalid_request,
    answer_user_error,
    describe_error_bodies,
)
from athanor.serve.generation import add_generate_request_schema
from athanor.serve.open_inference import INFER_PATH
from athanor.serve.predict_bodies import add_predict_request_schema
from athanor.server.console import console_response, is_console_path
from athanor.server.context import PlatformContext
from athanor.server.guards import OPEN_PATHS, AccessGuard, BodyLimit
from athanor.server.permissions import AuditTrail, authorize, permission_for
from athanor.server.routes import (
    audit,
    auth,
    datasets,
    deployments,
    jobs,
    lab_playground,
    lab_vision,
    labeling,
    models,
    open_inference,
    platform,
    runs,
    specs,
    users,
    workers,
)

UPLOAD_PREFIX = "/v1/uploads/"
DEPLOYMENT_PREFIX = "/v1/deployments/"


def create_app(context: PlatformContext) -> FastAPI:
    """The API over ``context``; its lifespan starts and stops the scheduler.

    Args:
        context: the store, machine, scheduler and limits of the platform.

    Returns:
        The ASGI application (serve it with uvicorn).
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if context.scheduler is not None:
            context.scheduler.start()
        await context.deployments.restore()
        if context.on_started is not None:
            context.on_started()
        try:
            yield
        finally:
            context.stopping.set()
            try:
                await context.deployments.close()
                if context.scheduler is not None:
                    await run_in_threadpool(context.scheduler.shutdown)
            finally:
                if context.on_stopped is not None:
                    context.on_stopped()

    app = FastAPI(
        title="Athanor",
        version=__version__,
        summary="Datasets, training jobs, runs and models of an Athanor platform.",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        dependencies=[Depends(authorize)],
    )
    app.state.context = context

    app.add_exception_handler(UserError, answer_user_error)
    app.add_exception_handler(RequestValidationError, answer_invalid_request)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        path = request.url.path
        if error.status_code == 404 and request.method in ("GET", "HEAD") and is_console_path(path):
            page = console_response(path)
            if page is not None:
                return page
        headers = dict(error.headers or {})
        if error.status_code == 405:
            # Starlette names only the methods of the first route matching the path; the
            # resource allows those of every route on it.
            allowed = {
                method
                for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
                if any(
                    route.matches({**request.scope, "method": method})[0] == Match.FULL
                    for route in app.router.routes
                )
            }
            headers["Allow"] = ", ".join(sorted(allowed))
        body = {
            "detail": error.detail,
            "code": code_of_status(error.status_code),
            "params": {},
            "field": None,
        }
        return JSONResponse(body, error.status_code, headers=headers)

    for module in (
        platform,
        auth,
        users,
        audit,
        jobs,
        runs,
        datasets,
        models,
        deployments,
        specs,
        labeling,
        lab_playground,
        lab_vision,
        workers,
        open_inference,
    ):
        app.include_router(module.router)

    def limit_for(path: str) -> int:
        if path.startswith(UPLOAD_PREFIX) and "/files/" in path:
            return context.max_upload_bytes
        if path.startswith(DEPLOYMENT_PREFIX) and path.endswith("/predict"):
            name = path[len(DEPLOYMENT_PREFIX) : -len("/predict")]
            return context.deployments.max_body_bytes(name)
        if (inference := INFER_PATH.match(path)) is not None:  # a deployment, as OIP calls it
            return context.deployments.max_body_bytes(inference[1])
        return context.max_body_bytes

    app.add_middleware(AuditTrail, audit=context.store.audit)
    app.add_middleware(BodyLimit, limit_for=limit_for)
    app.add_middleware(
        AccessGuard,
        tokens=context.store.tokens,
        users=context.store.users,
        sessions=context.sessions,
        allowed_hosts=context.allowed_hosts,
        no_auth=context.no_auth,
    )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=(
                    "Every client sends 'Authorization: Bearer <token>' (the owner's token is "
                    "in ATHANOR_HOME/token; others: 'athanor token create'), or the console's "
                    "session cookie; the Host header must name the platform, and browsers' "
                    "state-changing requests must come from its own origin. A token acts "
                    "for its user, whose role (viewer, editor, admin) decides what it may "
                    "do: a weaker role is answered 403 with the reason."
                ),
                routes=app.routes,
            )
            add_predict_request_schema(schema)
            describe_error_bodies(schema)
            add_generate_request_schema(schema)
            schema.setdefault("components", {})["securitySchemes"] = {
                "token": {"type": "http", "scheme": "bearer"}
            }
            for path, operations in schema.get("paths", {}).items():
                for method, operation in operations.items():
                    if path in OPEN_PATHS:
                        operation["security"] = [{}]
                        continue
                    operation["security"] = [{"token": []}]
                    needed = permission_for(method, path).role
                    operation["x-athanor-role"] = needed
                    if needed != "viewer":
                        operation.setdefault("responses", {}).setdefault(
                            "403",
                            {
                                "description": f"The caller's role is weaker than {needed}.",
                                "content": {
                                    "application/json": {
                                        "schema": {"$ref": "#/components/schemas/ErrorOut"}
                                    }
                                },
                            },
                        )
                    operation.setdefault("responses", {}).setdefault(
                        "401",
                        {
                            "description": "A token is required (or was invalid).",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ErrorOut"}
                                }
                            },
                        },
                    )
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
