"""The prediction endpoint: request body to batched prediction to response, and its fast path.

:func:`answer_prediction` does the work for ``POST /v1/models/{name}/predict`` and answers every
mistake in the request with its error's ``http_status`` (404, 413, 415 or 422) and a ``detail``
message, as the servers' handler of user errors does.
:class:`PredictFastPath` is a pure ASGI middleware that sends prediction requests straight to
it: FastAPI's routing and dependency machinery cost about as much CPU per request as parsing,
batching and answering a small model's request, and skipping them is what lets one event
loop keep a dynamic batcher full. The FastAPI route stays (it documents the endpoint in the
OpenAPI schema, and answers when the middleware is not installed).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from athanor.errors import NotFound, PayloadTooLarge, PredictionInputError, UserError
from athanor.serve.detection_prediction import uploaded_sizes
from athanor.serve.error_responses import error_json
from athanor.serve.inputs import concatenate
from athanor.serve.log_prediction import is_log_model
from athanor.serve.log_route import log_answer
from athanor.serve.model_server import ModelServer
from athanor.serve.multipart_form import parsed_form_parts, plain_form_parts
from athanor.serve.payloads import predictions_json, raw_from_body, raw_from_upload
from athanor.serve.predictor import Predictor
from athanor.serve.series_prediction import is_series_model
from athanor.serve.series_route import series_answer
from athanor.spec.serving import ServingSpec

OFFLOAD_BYTES = 64 * 1024  # parse bodies above this in a thread, keeping the loop responsive
PREFIX, SUFFIX = "/v1/models/", "/predict"
JSON_HEADERS = [(b"content-type", b"application/json")]
MAX_FORM_FIELDS = 100


async def answer_prediction(server: ModelServer, name: str, request: Request) -> tuple[int, bytes]:
    """Answer one prediction request: ``(status, JSON body)``.

    Raises:
        Exception: only bugs; every problem with the request is answered 4xx.
    """
    try:
        model = server.get(name)
    except NotFound as exc:
        return exc.http_status, error_json(exc)
    arrival = model.arrival()
    status = 500
    try:
        body = await read_body(request, server.config.max_body_bytes)
        active = model.active
        if is_log_model(active.predictor):
            answer = await log_answer(active.predictor, active.record.ref, request, body)
            status = 200
            return status, answer
        if is_series_model(active.predictor):
            answer = await series_answer(active.predictor, active.record.ref, request, body)
            if answer is not None:
                status = 200
                return status, answer
        threshold = _box_threshold(request)
        parse, size, uploads = await _request_parser(request, server.config, body)
        active, scores = await model.predict(parse, in_thread=size > OFFLOAD_BYTES, arrival=arrival)
        sizes = None
        if active.predictor.schema.task == "detection":  # boxes in the uploaded images' pixels
            sizes = uploaded_sizes(uploads, len(scores))
        content = predictions_json(active.predictor, scores, active.record.ref, sizes, threshold)
        model.observed.samples.inc(len(scores))
        status = 200
        return status, content
    except UserError as exc:
        status = exc.http_status
        arrival.failed(type(exc).__name__)
        return status, error_json(exc)
    except ClientDisconnect:
        status = 499  # the client went away while sending; nobody reads the answer
        return status, b""
    except BaseException:
        arrival.failed("internal")
        raise
    finally:
        arrival.ended(status)


class PredictFastPath:
    """ASGI middleware answering ``POST .../v1/models/{name}/predict`` directly."""

    def __init__(self, app: ASGIApp, server: ModelServer) -> None:
        self.app = app
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            name = _model_in_path(scope)
            if name is not None:
                status, body = await answer_prediction(self.server, name, Request(scope, receive))
                await send(
                    {
                        "type": "http.response.start",
                        "status": status,
                        "headers": [*JSON_HEADERS, (b"content-length", str(len(body)).encode())],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def _box_threshold(request: Request) -> float | None:
    """A detector's lowest box score from ``?threshold=`` (0 to 1), or None for the default.

    Raises:
        PredictionInputError: a value that is not a number from 0 to 1.
    """
    if not request.scope.get("query_string"):
        return None  # (most requests: parsing an empty query string costs a few microseconds)
    value = request.query_params.get("threshold")
    if value is None:
        return None
    try:
        threshold = float(value)
    except ValueError:
        threshold = -1.0
    if not 0.0 <= threshold <= 1.0:
        raise PredictionInputError(f"threshold: '{value}' is not a number from 0 to 1")
    return threshold


def _model_in_path(scope: Scope) -> str | None:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]  # mounted under a prefix
    if path.startswith(PREFIX) and path.endswith(SUFFIX):
        name = path[len(PREFIX) : -len(SUFFIX)]
        if name and "/" not in name:
            return name
    return None


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body, refused beyond ``limit`` bytes before it is all read.

    Raises:
        PayloadTooLarge: a declared or streamed length above ``limit``.
    """
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


async def _request_parser(
    request: Request, limits: ServingSpec, body: bytes
) -> tuple[Callable[[Predictor], np.ndarray], int, list[bytes] | None]:
    """A function turning the read ``body`` into a raw batch for a predictor, the body's
    size, and the uploaded images' bytes where the body is images alone (else ``None``)."""
    content_type = request.headers.get("content-type", "")
    if content_type.lower().startswith("multipart/form-data"):
        parts = await _multipart_parts(request, body, limits)
        images = [data for _, filename, kind, data in parts if filename and _is_image(kind)]

        def parse(predictor: Predictor) -> np.ndarray:
            return _checked(_raw_from_parts(predictor, parts), limits)

        return parse, len(body), images if len(images) == len(parts) else None

    def parse_body(predictor: Predictor) -> np.ndarray:
        return _checked(raw_from_body(predictor, content_type, body), limits)

    return parse_body, len(body), [body] if _is_image(content_type) else None


def _is_image(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower().startswith("image/")


async def _multipart_parts(
    request: Request, body: bytes, limits: ServingSpec
) -> list[tuple[str, str | None, str, bytes]]:
    """``(field, filename or None, content type, data)`` of each part, in order."""
    plain = plain_form_parts(
        request.headers.get("content-type", ""),
        body,
        max_files=limits.max_request_samples,
        max_fields=MAX_FORM_FIELDS,
    )
    if plain is not None:
        return plain
    try:
        parts = await parsed_form_parts(
            request.scope,
            body,
            max_files=limits.max_request_samples,
            max_fields=MAX_FORM_FIELDS,
        )
    except HTTPException as exc:
        raise PredictionInputError(f"unreadable multipart body: {exc.detail}") from None
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
    if len(batches) == 1:
        return batches[0]
    try:
        return concatenate(batches)  # type: ignore[no-any-return]
    except (ValueError, KeyError):
        raise PredictionInputError("the parts hold samples of different shapes") from None


def _checked(raw: np.ndarray, limits: ServingSpec) -> np.ndarray:
    if len(raw) > limits.max_request_samples:
        raise PayloadTooLarge(
            f"{len(raw):,} samples in one request; the limit is {limits.max_request_samples:,}"
        )
    return raw
