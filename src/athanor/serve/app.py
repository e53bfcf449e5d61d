"""The HTTP model server: ``create_app(["mnist-cnn@production"])`` gives a FastAPI app.

Routes: ``POST /v1/models/{name}/predict`` (JSON, multipart files, CSV or image bodies),
``GET /v1/models``, ``GET /v1/models/{name}``, ``POST /v1/models/{name}/reload``,
``GET /healthz``, ``GET /readyz``, ``GET /metrics`` (Prometheus), and the OpenAPI docs at
``/docs``. Bad input is answered 413, 415 or 422 with a ``detail`` message, never 500.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from athanor import __version__
from athanor.errors import UserError
from athanor.serve.model_server import ModelServer
from athanor.serve.predict_route import PredictFastPath, answer_prediction, status_of
from athanor.settings import Settings
from athanor.spec.serving import ServingSpec


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
    app = FastAPI(
        title="Athanor model server",
        version=__version__,
        description="Predictions from registered Athanor models, batched dynamically.",
        lifespan=server.lifespan,
    )
    app.state.model_server = server

    @app.exception_handler(UserError)
    async def user_error(_request: Request, exc: UserError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status_of(exc))

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
        status, content = await answer_prediction(server, name, request)
        return Response(content, status_code=status, media_type="application/json")

    app.add_middleware(PredictFastPath, server=server)
    return app
