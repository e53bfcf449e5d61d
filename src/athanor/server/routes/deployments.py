"""``/v1/deployments``: serve registered models from the platform, and predict with them."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError

from athanor.errors import UserError
from athanor.serve.generation import (
    GENERATE_REQUEST_BODY,
    Generated,
    GeneratedImages,
    GeneratedText,
    request_from_body,
)
from athanor.serve.predict_bodies import PREDICT_REQUEST_BODY, PredictionsOut
from athanor.server.json_safe import plain
from athanor.server.routes import NAME, Context, errors, principal
from athanor.server.schemas import (
    DeploymentCreate,
    DeploymentDriftOut,
    DeploymentMetricsOut,
    DeploymentOut,
)

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


MAX_HISTORY_MINUTES = 3650 * 24 * 60
HistoryMinutes = Annotated[
    int | None,
    Query(
        ge=1,
        le=MAX_HISTORY_MINUTES,
        description="How many minutes back (default 60), up to the retention period.",
    ),
]
HistorySince = Annotated[
    datetime | None,
    Query(
        description="The window's start instead of ?minutes= (ISO 8601; within the retention "
        "period, not in the future).",
        examples=["2026-12-07T06:00:00Z"],
    ),
]


def _window(context: Context, minutes: int | None, since: datetime | None) -> tuple[int, int]:
    """The window's first and last minute; a 422 naming the parameter outside the bounds."""
    monitor = context.deployments.monitor
    retention = monitor.retention_minutes
    days = retention // (24 * 60)
    if minutes is not None and since is not None:
        _refuse("since", "give either ?since= or ?minutes=, not both", since)
    if since is not None:
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        start = since.timestamp()
        now = monitor.clock()
        if start > now:
            _refuse("since", "the window's start is in the future", since)
        if start < now - retention * 60:
            _refuse("since", f"the history is kept {days} days; start within them", since)
        return monitor.window(None, start)
    if minutes is not None and minutes > retention:
        _refuse("minutes", f"at most {retention} (the history is kept {days} days)", minutes)
    return monitor.window(minutes or 60, None)


def _refuse(parameter: str, message: str, value: object) -> None:
    raise RequestValidationError(
        [{"type": "value_error", "loc": ("query", parameter), "msg": message, "input": str(value)}]
    )


@router.get(
    "/{name}/metrics",
    response_model=DeploymentMetricsOut,
    responses=errors(404),
    summary="A deployment's requests, errors and latency",
)
async def deployment_metrics(
    name: DeploymentName,
    context: Context,
    minutes: HistoryMinutes = None,
    since: HistorySince = None,
) -> dict:
    """Requests, errors (4xx and 5xx) and p50/p95/p99 latency of the last ``minutes``
    minutes (or from ``since``), every minute listed (zeros where nothing came), in steps of
    several minutes beyond 6 hours (at most 360 points). Kept in the store for the retention
    period (``ATHANOR_DEPLOYMENT_HISTORY_DAYS``, default 30), across platform restarts."""
    first, last = _window(context, minutes, since)
    await run_in_threadpool(context.store.deployments.get, name)  # NotFound when unknown
    # async: the minutes still in memory are read on the event loop that counts them
    return await context.deployments.monitor.history(name, first, last)


@router.get(
    "/{name}/drift",
    response_model=DeploymentDriftOut,
    responses=errors(404),
    summary="A deployment's input drift",
)
async def deployment_drift(
    name: DeploymentName,
    context: Context,
    minutes: HistoryMinutes = None,
    since: HistorySince = None,
) -> dict:
    """Per feature (tables) or channel (images), how far the inputs served in the window
    moved from the model's training split: the standardized mean difference against the
    training mean and std its package records, ``stable`` below 0.1, ``watch`` below 0.25,
    else ``drifted``; the worst features first, and the scores per step over time."""
    first, last = _window(context, minutes, since)
    await run_in_threadpool(context.store.deployments.get, name)  # NotFound when unknown
    server = context.deployments.servers.get(name)
    predictor = None
    if server is not None:
        predictor = next(iter(server.models.values())).active.predictor
    return await context.deployments.monitor.drift(name, first, last, predictor)
