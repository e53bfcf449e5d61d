"""The HTTP model server: ``create_app(["mnist-cnn@production"])`` gives a FastAPI app.

Routes: ``POST /v1/models/{name}/predict`` (JSON, multipart files, CSV or image bodies),
``POST /v1/models/{name}/generate`` (language models and GANs),
``GET /v1/models``, ``GET /v1/models/{name}``, ``POST /v1/models/{name}/reload``,
``GET /healthz``, ``GET /readyz``, ``GET /metrics`` (Prometheus), the Open Inference Protocol
under ``/v2`` (see :mod:`athanor.serve.open_inference`, which answers mistakes as that protocol
does), and the OpenAPI docs at ``/docs``. A mistake is answered with its error's
``http_status`` (see :mod:`athanor.errors`) and a ``detail`` message: 404 (a model not served
here), 413, 415 or 422 (bad inputs), 400 (a reload whose new version is refused); never 500.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from starlette.requests import Request

from athanor import __version__
from athanor.errors import UserError
from athanor.serve.error_responses import ErrorOut, answer_user_error
from athanor.serve.generation import (
    GENERATE_REQUEST_BODY,
    Generated,
    GeneratedImages,
    GeneratedText,
    add_generate_request_schema,
    request_from_body,
)
from athanor.serve.model_server import ModelServer
from athanor.serve.open_inference import add_open_inference_routes
from athanor.serve.predict_bodies import (
    PREDICT_REQUEST_BODY,
    PredictionsOut,
    add_predict_request_schema,
)
from athanor.serve.predict_route import PredictFastPath, answer_prediction
from athanor.settings import Settings
from athanor.spec.serving import ServingSpec

NOT_SERVED: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "The model is not served here."}
}
RELOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "The new version is refused, and why."},
    **NOT_SERVED,
}
PREDICT_ERRORS: dict[int | str, dict[str, Any]] = {
    **NOT_SERVED,
    413: {"model": ErrorOut, "description": "The body or the number of samples is too large."},
    415: {"model": ErrorOut, "description": "A content type the endpoint does not read."},
    422: {"model": ErrorOut, "description": "Inputs that do not fit the model, and why."},
}

GENERATE_ERRORS: dict[int | str, dict[str, Any]] = {
    **NOT_SERVED,
    409: {"model": ErrorOut, "description": "A model that does not generate (use predict)."},
    422: {
        "model": ErrorOut,
        "description": "Options out of range, or a prompt outside the model's vocabulary.",
    },
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

    app.add_exception_handler(UserError, answer_user_error)

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

    @app.get("/v1/models/{name}", tags=["models"], summary="One served model", responses=NOT_SERVED)
    async def show_model(name: str) -> dict[str, Any]:
        return server.get(name).describe()

    @app.post(
        "/v1/models/{name}/reload",
        tags=["models"],
        summary="Look the served alias up now and swap to its version if it moved",
        responses=RELOAD_ERRORS,
    )
    async def reload_model(name: str) -> dict[str, Any]:
        swapped = await server.refresh(name)
        return {"model": server.get(name).active.record.ref, "swapped": swapped}

    @app.post(
        "/v1/models/{name}/predict",
        tags=["models"],
        summary="Predict: classes with probabilities, or values",
        response_model=PredictionsOut,
        responses=PREDICT_ERRORS,
        openapi_extra={"requestBody": PREDICT_REQUEST_BODY},
    )
    async def predict(name: str, request: Request) -> Response:
        status, content = await answer_prediction(server, name, request)
        return Response(content, status_code=status, media_type="application/json")

    @app.post(
        "/v1/models/{name}/generate",
        tags=["models"],
        summary="Generate: text from a language model, images from a GAN",
        response_model=GeneratedText | GeneratedImages,
        responses=GENERATE_ERRORS,
        openapi_extra={"requestBody": GENERATE_REQUEST_BODY},
    )
    async def generate(name: str, request: Request) -> Generated:
        """A language model continues ``prompt`` by ``length`` tokens (``temperature``,
        ``top_k``); a GAN draws ``n`` images (PNG, base64). The same ``seed`` gives the same
        answer; without one a fresh seed is drawn and reported."""
        served = server.get(name)
        return await served.generate(request_from_body(await request.body()))

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            add_predict_request_schema(schema)
            add_generate_request_schema(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    add_open_inference_routes(app, server)
    app.add_middleware(PredictFastPath, server=server)
    return app
