"""``/v2``: the Open Inference Protocol v2 (KServe, Triton REST) on the platform's deployments.

Each running deployment is a protocol model of the deployment's name, so an unchanged client
(``tritonclient``, KServe's) pointed at the platform calls
``POST /v2/models/{deployment}/infer``. The tensors, batching and limits are the model
server's (:mod:`athanor.serve.open_inference`); the platform adds its tokens and roles (as for
``/v1/deployments/{name}/predict``: any user), its per-deployment body limit and its traffic
counts. Errors are the protocol's ``{"error": ...}``: 404 for a deployment that does not exist
or a version it does not serve, 400 for a stopped one and for tensors that do not fit.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from athanor import __version__
from athanor.errors import UserError
from athanor.serve.inference_tensors import error_body
from athanor.serve.open_inference import (
    ERROR_SCHEMA,
    EXTENSIONS,
    INFER_REQUEST_BODY,
    answer_inference,
    model_metadata,
    served_version,
)
from athanor.server.routes import NAME, Context

router = APIRouter(prefix="/v2", tags=["open inference protocol"])

DeploymentName = Annotated[
    str, Path(pattern=f"^{NAME}$", description="The deployment's name.", examples=["boston"])
]
Version = Annotated[str, Path(description="The model version the deployment serves.")]
NOT_SERVED = {404: {"description": "No such deployment, or not this version.", **ERROR_SCHEMA}}
NOT_READY = {400: {"description": "The deployment is stopped.", **ERROR_SCHEMA}}
INFER_ERRORS = {
    **NOT_SERVED,
    400: {"description": "A stopped deployment, or tensors that do not fit.", **ERROR_SCHEMA},
    413: {"description": "The body or the batch is too large.", **ERROR_SCHEMA},
}


def _error(error: UserError) -> Response:
    status = error.http_status if error.http_status in (404, 413) else 400
    return Response(error_body(str(error)), status, media_type="application/json")


def _served(context: Context, name: str) -> tuple[Any, str]:
    """A running deployment's model server and the name of the model it serves.

    Raises:
        NotFound: no such deployment.
        UserError: the deployment is stopped (the protocol's "not ready": 400).
    """
    context.store.deployments.get(name)  # NotFound when there is no such deployment
    try:
        server = context.deployments.server(name)
    except UserError as exc:
        raise UserError(str(exc)) from exc  # it exists: stopped, not missing
    return server, next(iter(server.models))


@router.get("", summary="The server's name, version and protocol extensions")
def server_metadata() -> dict[str, Any]:
    return {"name": "athanor", "version": __version__, "extensions": EXTENSIONS}


@router.get("/health/live", summary="The platform is up")
def live() -> dict[str, bool]:
    return {"live": True}


@router.get("/health/ready", summary="The platform answers requests")
def ready() -> dict[str, bool]:
    return {"ready": True}


def _metadata(context: Context, name: str, version: str | None) -> Response:
    try:
        server, model = _served(context, name)
        served = served_version(server, model, version)
    except UserError as exc:
        return _error(exc)
    return Response(
        json.dumps({**model_metadata(served), "name": name}), media_type="application/json"
    )


def _ready(context: Context, name: str, version: str | None) -> Response:
    try:
        server, model = _served(context, name)
        served_version(server, model, version)
    except UserError as exc:
        return _error(exc)
    return Response(json.dumps({"name": name, "ready": True}), media_type="application/json")


async def _infer(context: Context, name: str, version: str | None, request: Request) -> Response:
    try:
        server, model = _served(context, name)
    except UserError as exc:
        return _error(exc)
    started = time.perf_counter()
    status = 500
    try:
        status, headers, body = await answer_inference(server, model, version, request)
    finally:
        context.deployments.traffic.record(name, status, time.perf_counter() - started)
    return Response(body, status, headers={k.decode(): v.decode() for k, v in headers})


@router.get(
    "/models/{name}",
    summary="A deployment's input and output tensors",
    responses={**NOT_SERVED, **NOT_READY},
)
def metadata(name: DeploymentName, context: Context) -> Response:
    return _metadata(context, name, None)


@router.get(
    "/models/{name}/versions/{version}",
    summary="A deployment's input and output tensors (at a version)",
    responses={**NOT_SERVED, **NOT_READY},
)
def versioned_metadata(name: DeploymentName, version: Version, context: Context) -> Response:
    return _metadata(context, name, version)


@router.get(
    "/models/{name}/ready",
    summary="The deployment is serving",
    responses={**NOT_SERVED, **NOT_READY},
)
def model_ready(name: DeploymentName, context: Context) -> Response:
    return _ready(context, name, None)


@router.get(
    "/models/{name}/versions/{version}/ready",
    summary="The deployment is serving this version",
    responses={**NOT_SERVED, **NOT_READY},
)
def versioned_ready(name: DeploymentName, version: Version, context: Context) -> Response:
    return _ready(context, name, version)


@router.post(
    "/models/{name}/infer",
    summary="Infer with a deployment: JSON tensors, or binary tensor data",
    responses=INFER_ERRORS,
    openapi_extra={"requestBody": INFER_REQUEST_BODY},
)
async def infer(name: DeploymentName, request: Request, context: Context) -> Response:
    return await _infer(context, name, None, request)


@router.post(
    "/models/{name}/versions/{version}/infer",
    summary="Infer with a deployment at a version: JSON tensors, or binary tensor data",
    responses=INFER_ERRORS,
    openapi_extra={"requestBody": INFER_REQUEST_BODY},
)
async def versioned_infer(
    name: DeploymentName, version: Version, request: Request, context: Context
) -> Response:
    return await _infer(context, name, version, request)
