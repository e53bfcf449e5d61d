"""The HTTP model server: ``create_app(["mnist-cnn@production"])`` gives a FastAPI app.

Routes: ``POST /v1/models/{name}/predict`` (JSON, multipart files, CSV or image bodies),
``GET /v1/models``, ``GET /v1/models/{name}``, ``POST /v1/models/{name}/reload``,
``GET /healthz``, ``GET /readyz``, ``GET /metrics`` (Prometheus), and the OpenAPI docs at
``/docs``. Bad input is answered 413, 415 or 422 with a ``detail`` message, never 500.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from athanor import __version__
from athanor.errors import NotFound, PredictionInputError, UserError
from athanor.serve.model_server import ModelServer
from athanor.serve.payloads import (
    PayloadTooLarge,
    UnsupportedMediaType,
    predictions_json,
    raw_from_body,
    raw_from_upload,
)
from athanor.serve.predictor import Predictor
from athanor.settings import Settings
from athanor.spec.serving import ServingSpec

OFFLOAD_BYTES = 64 * 1024  # parse bodies above this in a thread, keeping the loop responsive


class PredictionBody(BaseModel):
    """One prediction (a classifier's fields or a regressor's ``values``)."""

    label: str | None = None
    probability: float | None = None
    probabilities: dict[str, float] | None = None
    values: list[Any] | None = None


class PredictResponse(BaseModel):
    """The version that answered and one prediction per input sample, in order."""

    model: str = Field(description="NAME@VERSION that answered.")
    predictions: list[PredictionBody]


class ErrorBody(BaseModel):
    """What was wrong with the request."""

    detail: str


PREDICT_REQUEST = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["inputs"],
                "properties": {
                    "inputs": {
                        "type": "array",
                        "description": "A tensor of one sample or a batch (raw values, e.g. "
                        "pixels 0-255), rows as {feature: value} objects, texts, or "
                        '{"b64": "<base64 image>"} objects.',
                        "items": {},
                    }
                },
            },
            "example": {"inputs": [{"sepal length (cm)": 5.1, "sepal width (cm)": 3.5}]},
        },
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "files": {
                        "type": "array",
                        "items": {"type": "string", "format": "binary"},
                        "description": "Images (one sample each) or CSV files (one per row).",
                    }
                },
            }
        },
        "text/csv": {"schema": {"type": "string"}},
        "image/png": {"schema": {"type": "string", "format": "binary"}},
    },
}
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "The model is not served here."},
    413: {"model": ErrorBody, "description": "The body or the number of samples is too large."},
    415: {"model": ErrorBody, "description": "A content type the endpoint does not read."},
    422: {"model": ErrorBody, "description": "Inputs that do not fit the model, and why."},
}


def _status(exc: UserError) -> int:
    if isinstance(exc, PayloadTooLarge):
        return 413
    if isinstance(exc, UnsupportedMediaType):
        return 415
    if isinstance(exc, NotFound):
        return 404
    return 422


def create_app(
    refs: Sequence[str] | str | ModelServer,
    *,
    config: ServingSpec | None = None,
    settings: Settings | None = None,
) -> FastAPI:
    """A FastAPI app serving registered models with dynamic batching.

    Args:
        refs: ``NAME``, ``NAME@VERSION`` or ``NAME@ALIAS`` (or several), or a ModelServer.
        config: batching and limits (default :class:`ServingSpec`).
        settings: store location (default: from the environment).

    Returns:
        The app; ``app.state.model_server`` is its :class:`ModelServer`. Mounted inside
        another app, call that server's ``start``/``stop`` from the outer lifespan.

    Raises:
        UserError: a reference that does not resolve (before anything listens).
    """
    if isinstance(refs, ModelServer):
        server = refs
    else:
        server = ModelServer(
            [refs] if isinstance(refs, str) else refs, config=config, settings=settings
        )
    limits = server.config
    app = FastAPI(
        title="Athanor model server",
        version=__version__,
        description="Predictions from registered Athanor models, batched dynamically.",
        lifespan=server.lifespan,
    )
    app.state.model_server = server

    @app.exception_handler(UserError)
    async def user_error(_request: Request, exc: UserError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=_status(exc))

    @app.get("/healthz", tags=["health"], summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], summary="Every model is loaded and answering")
    async def readyz() -> JSONResponse:
        ready = server.ready
        body = {
            "status": "ready" if ready else "not ready",
            "models": {name: model.active.record.ref for name, model in server.models.items()},
        }
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics", tags=["health"], summary="Prometheus metrics")
    async def metrics() -> Response:
        return Response(server.metrics.render(), media_type=server.metrics.content_type)

    @app.get("/v1/models", tags=["models"], summary="The models served here")
    async def list_models() -> dict[str, Any]:
        return {"models": server.describe()}

    @app.get("/v1/models/{name}", tags=["models"], summary="One served model", responses=ERRORS)
    async def show_model(name: str) -> dict[str, Any]:
        return server.get(name).describe()

    @app.post(
        "/v1/models/{name}/reload",
        tags=["models"],
        summary="Look the served alias up now and swap to its version if it moved",
        responses=ERRORS,
    )
    async def reload_model(name: str) -> dict[str, Any]:
        swapped = await server.refresh(name)
        return {"model": server.get(name).active.record.ref, "swapped": swapped}

    @app.post(
        "/v1/models/{name}/predict",
        tags=["models"],
        summary="Predict: classes with probabilities, or values",
        response_model=PredictResponse,
        responses=ERRORS,
        openapi_extra={"requestBody": PREDICT_REQUEST},
    )
    async def predict(name: str, request: Request) -> Response:
        started = time.perf_counter()
        model = server.get(name)
        code = 500
        try:
            parse, size = await _request_parser(request, limits)
            active, scores = await model.predict(parse, in_thread=size > OFFLOAD_BYTES)
            content = predictions_json(active.predictor, scores, active.record.ref)
            server.metrics.samples.labels(name).inc(len(scores))
            code = 200
            return Response(content, media_type="application/json")
        except UserError as exc:
            code = _status(exc)
            server.metrics.errors.labels(name, type(exc).__name__).inc()
            return JSONResponse({"detail": str(exc)}, status_code=code)
        except BaseException:
            server.metrics.errors.labels(name, "internal").inc()
            raise
        finally:
            server.metrics.requests.labels(name, str(code)).inc()
            server.metrics.latency.labels(name).observe(time.perf_counter() - started)

    return app


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body has {int(declared):,} bytes; the limit is {limit:,}")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body exceeds the limit of {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _request_parser(request: Request, limits: ServingSpec) -> tuple[Any, int]:
    """Read the body; return a function turning it into a raw batch for a predictor."""
    body = await _read_body(request, limits.max_body_bytes)
    content_type = request.headers.get("content-type", "")
    if content_type.lower().startswith("multipart/form-data"):
        parts = await _multipart_parts(request, body, limits)

        def parse(predictor: Predictor) -> np.ndarray:
            return _checked(_raw_from_parts(predictor, parts), limits)

    else:

        def parse(predictor: Predictor) -> np.ndarray:
            return _checked(raw_from_body(predictor, content_type, body), limits)

    return parse, len(body)


async def _multipart_parts(
    request: Request, body: bytes, limits: ServingSpec
) -> list[tuple[str, str | None, str, bytes]]:
    """``(field, filename or None, content type, data)`` of each part, in order."""

    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(
            max_files=limits.max_request_samples, max_fields=100
        )
    except HTTPException as exc:
        raise PredictionInputError(f"unreadable multipart body: {exc.detail}") from None
    parts: list[tuple[str, str | None, str, bytes]] = []
    try:
        for field, value in form.multi_items():
            if isinstance(value, str):
                parts.append((field, None, "application/json", value.encode()))
            else:
                data = await value.read()
                parts.append((field, value.filename or field, value.content_type or "", data))
    finally:
        await form.close()
    if not parts:
        raise PredictionInputError("the multipart body holds no files")
    return parts


def _raw_from_parts(
    predictor: Predictor, parts: list[tuple[str, str | None, str, bytes]]
) -> np.ndarray:
    batches = []
    for field, filename, content_type, data in parts:
        if filename is None:
            if field != "inputs":
                raise PredictionInputError(
                    f"form field '{field}' is not read; send files, or JSON in a field 'inputs'"
                )
            batches.append(raw_from_body(predictor, "application/json", data))
        else:
            batches.append(raw_from_upload(predictor, filename, content_type, data))
    try:
        return np.concatenate(batches)
    except ValueError:
        raise PredictionInputError("the parts hold samples of different shapes") from None


def _checked(raw: np.ndarray, limits: ServingSpec) -> np.ndarray:
    if len(raw) > limits.max_request_samples:
        raise PayloadTooLarge(
            f"{len(raw):,} samples in one request; the limit is {limits.max_request_samples:,}"
        )
    return raw
