"""``/v1/deployments``: serve registered models from the platform, and predict with them."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from athanor.errors import UserError
from athanor.serve.generation import (
    GENERATE_REQUEST_BODY,
    Generated,
    GeneratedImages,
    GeneratedText,
    request_from_body,
)
from athanor.serve.predict_bodies import PREDICT_REQUEST_BODY, PredictionsOut
from athanor.server.deployment_traffic import KEEP_MINUTES
from athanor.server.json_safe import plain
from athanor.server.routes import NAME, Context, errors, principal
from athanor.server.schemas import DeploymentCreate, DeploymentMetricsOut, DeploymentOut

router = APIRouter(prefix="/v1/deployments", tags=["deployments"])

DeploymentName = Annotated[
    str, Path(pattern=f"^{NAME}$", description="The deployment's name.", examples=["boston"])
]


@router.get("", response_model=list[DeploymentOut], summary="List deployments")
def list_deployments(context: Context) -> list[dict]:
    """Every deployment with its status, settings and the version it serves now."""
    manager = context.deployments
    return [plain(manager.view(record)) for record in context.store.deployments.list()]


@router.post(
    "",
    status_code=201,
    response_model=DeploymentOut,
    responses=errors(400, 404, 409, 413),
    summary="Deploy a model",
)
async def create_deployment(body: DeploymentCreate, request: Request, context: Context) -> dict:
    """Load a registered model and serve it with a dynamic batcher at
    ``/v1/deployments/{name}/predict``; it is served again after a platform restart."""
    record = await context.deployments.create(
        body.name, body.model, body.config.model_dump(mode="json"), created_by=principal(request)
    )
    return plain(context.deployments.view(record))


@router.get(
    "/{name}", response_model=DeploymentOut, responses=errors(404), summary="Show a deployment"
)
def get_deployment(name: DeploymentName, context: Context) -> dict:
    return plain(context.deployments.view(context.store.deployments.get(name)))


@router.delete(
    "/{name}",
    status_code=204,
    response_class=Response,
    responses=errors(404),
    summary="Stop a deployment",
)
async def delete_deployment(name: DeploymentName, context: Context) -> Response:
    """Stop serving (requests already queued are answered) and forget the deployment."""
    await context.deployments.delete(name)
    return Response(status_code=204)


@router.post(
    "/{name}/stop",
    response_model=DeploymentOut,
    responses=errors(404),
    summary="Stop a deployment and keep it",
)
async def stop_deployment(name: DeploymentName, request: Request, context: Context) -> dict:
    """Stop serving (requests already queued are answered); the deployment stays,
    ``stopped``, to be started again or deleted."""
    record = await context.deployments.stop(name, f"stopped by {principal(request)}")
    return plain(context.deployments.view(record))


@router.post(
    "/{name}/start",
    response_model=DeploymentOut,
    responses=errors(404),
    summary="Start a stopped deployment",
)
async def start_deployment(name: DeploymentName, context: Context) -> dict:
    """Serve a stopped or failed deployment again (404 when its model is gone)."""
    record = await context.deployments.start(name)
    return plain(context.deployments.view(record))


@router.post(
    "/{name}/predict",
    response_model=PredictionsOut,
    responses=errors(404, 413, 415, 422),
    openapi_extra={"requestBody": PREDICT_REQUEST_BODY},
    summary="Predict with a deployment",
)
async def predict(name: DeploymentName, request: Request, context: Context) -> Response:
    """Classes with probabilities, or values, for each input sample; requests arriving
    together are batched into one forward pass."""
    from athanor.serve.predict_route import answer_prediction

    server = context.deployments.server(name)
    model = next(iter(server.models))
    started = time.perf_counter()
    status = 500
    try:
        status, content = await answer_prediction(server, model, request)
    finally:
        context.deployments.traffic.record(name, status, time.perf_counter() - started)
    return Response(content, status_code=status, media_type="application/json")


@router.post(
    "/{name}/generate",
    response_model=GeneratedText | GeneratedImages,
    responses=errors(404, 409, 413, 422),
    summary="Generate with a deployment",
    openapi_extra={"requestBody": GENERATE_REQUEST_BODY},
)
async def generate(name: DeploymentName, request: Request, context: Context) -> Generated:
    """Text from a deployed language model (``prompt``, ``length``, ``temperature``,
    ``top_k``) or images from a deployed GAN (``n``); the same ``seed`` gives the same answer."""
    server = context.deployments.server(name)
    served = server.get(next(iter(server.models)))
    started = time.perf_counter()
    status = 500
    try:
        generated = await served.generate(request_from_body(await request.body()))
        status = 200
        return generated
    except UserError as exc:
        status = exc.http_status
        raise
    finally:
        context.deployments.traffic.record(name, status, time.perf_counter() - started)


@router.get(
    "/{name}/metrics",
    response_model=DeploymentMetricsOut,
    responses=errors(404),
    summary="A deployment's requests, errors and latency",
)
def deployment_metrics(
    name: DeploymentName,
    context: Context,
    minutes: Annotated[
        int, Query(ge=1, le=KEEP_MINUTES, description="How many minutes back, up to a day.")
    ] = 60,
) -> dict:
    """Requests, errors (4xx and 5xx) and p50/p95 latency per minute of the last ``minutes``
    minutes, every minute listed (zeros where nothing came), counted in the platform's memory
    since it started."""
    context.store.deployments.get(name)  # NotFound when unknown
    return context.deployments.traffic.series(name, minutes)
