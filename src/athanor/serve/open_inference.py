"""The Open Inference Protocol (v2, REST): the KServe and Triton protocol on the model server.

Any client of the protocol (``tritonclient[http]``, KServe's ``InferenceRESTClient``, plain
``curl``) can call a served model:

- ``GET /v2``: the server's name, version and extensions;
- ``GET /v2/health/live`` and ``GET /v2/health/ready``: 200, or 400 while not ready;
- ``GET /v2/models/{name}[/versions/{v}]``: the model's input and output tensors;
- ``GET /v2/models/{name}[/versions/{v}]/ready``: 200, or 400 while not ready;
- ``POST /v2/models/{name}[/versions/{v}]/infer``: JSON tensors, or the binary tensor data
  extension (see :mod:`athanor.serve.inference_tensors`).

How a model's tensors map to Athanor's inputs (see :func:`input_tensors`): an image, tabular,
sequence or token model takes one tensor ``input`` of its network's input shape with a batch
axis first (FP32, or INT64 token indices; images may be sent as UINT8 pixels; any numeric
datatype is converted); a token model also takes its texts as a BYTES ``input``. A table
imported with typed columns takes one tensor per column, ``[batch, 1]``: FP32 numbers (NaN
for a missing value), BOOL, or BYTES for categorical, text and datetime columns. The raw
inputs go through the package's preprocessing, as on the native route.

Outputs: a classifier gives ``probabilities`` (FP32 ``[batch, classes]``) and ``label``
(BYTES ``[batch, 1]``), and Triton's classification extension on ``probabilities``; any other
model gives its network's output, named as the export's signature names it (``output``, in
the target's own units for regression).

An inference request goes through the native route's machinery: the same body limit, sample
limit and dynamic batcher, so that requests of both protocols share batches, and the same
metrics. A mistake is answered ``{"error": message}`` with 400 (404 for a model or version
not served here, 413 beyond a limit), never 500.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
from fastapi import FastAPI
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from athanor import __version__
from athanor.data.schema import Schema
from athanor.errors import NotFound, PayloadTooLarge, PredictionInputError, UserError
from athanor.registry.signature import INPUT_NAME, output_name
from athanor.serve.inference_tensors import (
    BYTES,
    HEADER_LENGTH,
    InferenceRequest,
    InferenceRequestError,
    OutputTensor,
    RequestedOutput,
    Tensor,
    decode_request,
    encode_response,
    error_body,
)
from athanor.serve.model_server import ModelServer
from athanor.serve.predict_route import OFFLOAD_BYTES, read_body
from athanor.serve.predictor import Predictor
from athanor.serve.served_model import ServedModel
from athanor.spec.serving import ServingSpec

EXTENSIONS = ["binary_tensor_data", "classification"]
INFER_PATH = re.compile(r"^/v2/models/([^/]+)(?:/versions/([^/]+))?/infer$")
PROBABILITIES, LABEL = "probabilities", "label"
COLUMN_DATATYPES = {"numeric": "FP32", "boolean": "BOOL"}  # others (text, dates): BYTES
FLOAT_TYPES = ("FP16", "FP32", "FP64")
INTEGER_TYPES = ("UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64")

ERROR_SCHEMA = {
    "content": {
        "application/json": {
            "schema": {"type": "object", "properties": {"error": {"type": "string"}}}
        }
    }
}


def input_tensors(schema: Schema) -> list[dict[str, Any]]:
    """The input tensors a model takes: ``name``, ``datatype``, ``shape`` (-1: the batch)."""
    if schema.input.columns:
        return [
            {"name": c.name, "datatype": COLUMN_DATATYPES.get(c.type, BYTES), "shape": [-1, 1]}
            for c in schema.input.columns
        ]
    datatype = "INT64" if schema.input.kind == "tokens" else "FP32"
    return [{"name": INPUT_NAME, "datatype": datatype, "shape": [-1, *schema.input.shape]}]


def output_tensors(schema: Schema) -> list[dict[str, Any]]:
    """The output tensors a model gives: a classifier's probabilities and label, or values."""
    if schema.task == "classification" and schema.classes:
        return [
            {"name": PROBABILITIES, "datatype": "FP32", "shape": [-1, len(schema.classes)]},
            {"name": LABEL, "datatype": BYTES, "shape": [-1, 1]},
        ]
    return [{"name": output_name(schema), "datatype": "FP32", "shape": [-1, *schema.output_shape]}]


def model_metadata(model: ServedModel) -> dict[str, Any]:
    """``GET /v2/models/{name}``: the version served, the runtime and the tensors."""
    active = model.active
    schema = active.predictor.schema
    return {
        "name": model.name,
        "versions": [str(active.record.version)],
        "platform": f"athanor_{active.runtime}",
        "inputs": input_tensors(schema),
        "outputs": output_tensors(schema),
    }


def raw_from_tensors(predictor: Predictor, request: InferenceRequest, limits: ServingSpec) -> Any:
    """The raw batch (as the native route makes it) from a request's input tensors.

    Raises:
        PayloadTooLarge: more samples than the server's limit.
        InferenceRequestError: tensors that do not fit the model, naming them and what fits.
        PredictionInputError: values the model cannot take (NaN, tokens out of range).
    """
    if request.batch_size == 0:
        raise InferenceRequestError("the batch is empty: the inputs' first dimension is 0")
    if request.batch_size > limits.max_request_samples:
        raise PayloadTooLarge(
            f"{request.batch_size:,} samples in one request; the limit is "
            f"{limits.max_request_samples:,}"
        )
    predictor.require_predictive()
    schema = predictor.schema
    if schema.input.kind == "logs":
        raise InferenceRequestError(
            "a model over log sessions takes sessions of log lines on "
            "/v1/models/{name}/predict, not tensors"
        )
    if schema.input.columns:
        return _table_from_tensors(predictor, request.inputs)
    expected = input_tensors(schema)[0]
    if len(request.inputs) != 1 or request.inputs[0].name != INPUT_NAME:
        raise InferenceRequestError(
            "this model takes one input tensor 'input' "
            f"{expected['datatype']} {expected['shape']}; got "
            + ", ".join(f"'{t.name}'" for t in request.inputs)
        )
    tensor = request.inputs[0]
    if schema.input.kind == "tokens" and tensor.datatype == BYTES:
        if tensor.array.ndim > 2 or tensor.array.shape[1:] not in ((), (1,)):
            raise InferenceRequestError(
                f"input 'input': texts (BYTES) have the shape [-1] or [-1, 1], not {tensor.shape}"
            )
        return predictor.text_to_raw(
            [_text(v, "input", i) for i, v in enumerate(tensor.array.ravel())]
        )
    if list(tensor.shape[1:]) != expected["shape"][1:]:
        raise InferenceRequestError(
            f"input 'input': shape {tensor.shape} does not fit the model's {expected['shape']}"
        )
    if schema.input.kind == "tokens":
        if tensor.datatype not in INTEGER_TYPES:
            raise InferenceRequestError(
                f"input 'input': token indices are INT64 (or another integer type, or texts "
                f"as BYTES), not {tensor.datatype}"
            )
        return predictor.to_raw(tensor.array.astype(np.int64))
    if tensor.datatype not in FLOAT_TYPES + INTEGER_TYPES:
        raise InferenceRequestError(
            f"input 'input': datatype {tensor.datatype} is not read; send FP32 "
            "(or another numeric type"
            + (", UINT8 for pixels)" if schema.input.kind == "image" else ")")
        )
    return predictor.to_raw(tensor.array.astype(np.float32))


def _table_from_tensors(predictor: Predictor, inputs: list[Tensor]) -> Any:
    """One tensor per raw column -> rows for the package's table preprocessing."""
    columns = predictor.schema.input.columns or []
    expected = {c.name: c.type for c in columns}
    given = {t.name: t for t in inputs}
    unknown = [name for name in given if name not in expected]
    missing = [name for name in expected if name not in given]
    if unknown or missing or len(given) != len(inputs):
        problems = []
        if missing:
            problems.append("missing " + ", ".join(missing))
        if unknown:
            problems.append("unknown " + ", ".join(unknown))
        if len(given) != len(inputs):
            problems.append("an input named twice")
        raise InferenceRequestError(
            f"{'; '.join(problems)}: this model takes one tensor [-1, 1] per column: "
            + ", ".join(f"{t['name']} {t['datatype']}" for t in input_tensors(predictor.schema))
        )
    values: dict[str, list[Any]] = {}
    for name, tensor in given.items():
        if tensor.array.ndim > 2 or tensor.array.shape[1:] not in ((), (1,)):
            raise InferenceRequestError(
                f"input '{name}': a column has the shape [-1, 1] (or [-1]), not {tensor.shape}"
            )
        flat = tensor.array.ravel()
        if tensor.datatype == BYTES:
            values[name] = [_text(v, name, i) for i, v in enumerate(flat)]
        elif expected[name] in ("numeric", "boolean"):
            floats = flat.astype(np.float64)
            values[name] = [None if np.isnan(v) else v for v in floats.tolist()]
        else:
            raise InferenceRequestError(
                f"input '{name}': a {expected[name]} column is sent as BYTES, not {tensor.datatype}"
            )
    count = len(inputs[0].array)
    rows = [{name: column[i] for name, column in values.items()} for i in range(count)]
    return predictor.to_raw(rows)


def _text(value: bytes, name: str, index: int) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise InferenceRequestError(f"input '{name}': element {index} is not UTF-8 text") from None


def outputs_from_scores(
    predictor: Predictor, scores: np.ndarray, request: InferenceRequest
) -> list[OutputTensor]:
    """The outputs the request asked for (all, when it named none) from a batch's scores.

    Raises:
        InferenceRequestError: an output the model does not give, or classification asked
            of an output that is not a classifier's probabilities.
        PredictionInputError: the network gave NaN or infinity for these inputs.
    """
    if not np.isfinite(scores).all():
        raise PredictionInputError(
            "the model gave non-finite outputs for these inputs; are they far outside the "
            "range of its training data?"
        )
    schema = predictor.schema
    described = output_tensors(schema)
    names = [d["name"] for d in described]
    wanted = request.outputs
    if wanted is None:
        wanted = [RequestedOutput(name, request.binary_outputs) for name in names]
    outputs = []
    for requested in wanted:
        if requested.name not in names:
            raise InferenceRequestError(
                f"output '{requested.name}' is not one of this model's: {', '.join(names)}"
            )
        if requested.classification:
            if requested.name != PROBABILITIES:
                raise InferenceRequestError(
                    f"classification is asked of '{requested.name}'; a classifier's "
                    f"'{PROBABILITIES}' gives it"
                )
            array = _top_classes(scores, schema.classes or [], requested.classification)
            outputs.append(OutputTensor(requested.name, BYTES, array, requested.binary))
        elif requested.name == LABEL:
            labels = np.empty(len(schema.classes or []), dtype=object)
            labels[:] = [c.encode() for c in schema.classes or []]
            array = labels[scores.argmax(axis=1)].reshape(-1, 1)
            outputs.append(OutputTensor(LABEL, BYTES, array, requested.binary))
        else:
            array = scores.reshape(len(scores), *described[0]["shape"][1:])
            outputs.append(OutputTensor(requested.name, "FP32", array, requested.binary))
    return outputs


def _top_classes(scores: np.ndarray, classes: list[str], count: int) -> np.ndarray:
    """Triton's classification extension: ``score:index:label``, best first, per sample."""
    count = min(count, scores.shape[1])
    best = np.argsort(-scores, axis=1, kind="stable")[:, :count]
    array = np.empty(best.shape, dtype=object)
    for row, indices in enumerate(best):
        array[row] = [f"{scores[row, i]:f}:{i}:{classes[i]}".encode() for i in indices]
    return array


def served_version(server: ModelServer, name: str, version: str | None) -> ServedModel:
    """The model ``name``, checking that it serves ``version`` (when one is given).

    Raises:
        NotFound: no such model here, or another version served.
    """
    model = server.get(name)
    if version is not None and version != str(model.active.record.version):
        raise NotFound(
            f"model '{name}' version '{version}' is not served here; it serves version "
            f"{model.active.record.version}"
        )
    return model


def _status(error: UserError) -> int:
    """The protocol answers 400, bar a model not found (404) and a limit passed (413)."""
    return error.http_status if error.http_status in (404, 413) else 400


async def answer_inference(
    server: ModelServer, name: str, version: str | None, request: Request
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Answer one inference request: ``(status, headers, body)``.

    Raises:
        Exception: only bugs; every problem with the request is answered 4xx.
    """
    try:
        model = served_version(server, name, version)
    except NotFound as exc:
        return 404, JSON_HEADERS, error_body(str(exc))
    arrival = model.arrival()
    status = 500
    try:
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise InferenceRequestError(
                f"Content-Encoding '{encoding}' is not read; send the body uncompressed"
            )
        body = await read_body(request, server.config.max_body_bytes)
        header_length = request.headers.get(HEADER_LENGTH)
        large = len(body) > OFFLOAD_BYTES
        if large:
            decoded = await asyncio.to_thread(decode_request, body, header_length)
        else:
            decoded = decode_request(body, header_length)

        def parse(predictor: Predictor) -> Any:
            return raw_from_tensors(predictor, decoded, server.config)

        active, scores = await model.predict(parse, in_thread=large, arrival=arrival)
        outputs = outputs_from_scores(active.predictor, scores, decoded)
        content, json_length = encode_response(
            name, str(active.record.version), decoded.id, outputs
        )
        model.observed.samples.inc(len(scores))
        status = 200
        if json_length is None:
            return status, JSON_HEADERS, content
        headers = [
            (b"content-type", b"application/octet-stream"),
            (HEADER_LENGTH.encode(), str(json_length).encode()),
        ]
        return status, headers, content
    except UserError as exc:
        status = _status(exc)
        arrival.failed(type(exc).__name__)
        return status, JSON_HEADERS, error_body(str(exc))
    except ClientDisconnect:
        status = 499  # the client went away while sending; nobody reads the answer
        return status, JSON_HEADERS, b""
    except BaseException:
        arrival.failed("internal")
        raise
    finally:
        arrival.ended(status)


JSON_HEADERS = [(b"content-type", b"application/json")]


class OpenInferenceFastPath:
    """ASGI middleware answering ``POST .../v2/models/{name}[/versions/{v}]/infer`` directly,
    for the reason :class:`~athanor.serve.predict_route.PredictFastPath` does."""

    def __init__(self, app: ASGIApp, server: ModelServer) -> None:
        self.app = app
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path: str = scope["path"]
            root: str = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]  # mounted under a prefix
            match = INFER_PATH.match(path)
            if match is not None:
                name, version = match.groups()
                status, headers, body = await answer_inference(
                    self.server, name, version, Request(scope, receive)
                )
                await send(
                    {
                        "type": "http.response.start",
                        "status": status,
                        "headers": [*headers, (b"content-length", str(len(body)).encode())],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


Handler = Callable[[str, str | None, Request], Awaitable[Response]]

INFER_REQUEST_BODY = {
    "required": True,
    "description": "The protocol's inference request: JSON, or JSON followed by the binary "
    "data of its inputs (the header Inference-Header-Content-Length gives the JSON's length).",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["inputs"],
                "properties": {
                    "id": {"type": "string"},
                    "parameters": {"type": "object"},
                    "inputs": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["name", "shape", "datatype"],
                            "properties": {
                                "name": {"type": "string"},
                                "shape": {"type": "array", "items": {"type": "integer"}},
                                "datatype": {"type": "string"},
                                "parameters": {"type": "object"},
                                "data": {"type": "array", "items": {}},
                            },
                        },
                    },
                    "outputs": {"type": "array", "items": {"type": "object"}},
                },
            }
        },
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    },
}


def _latest(handler: Handler) -> Callable[[str, Request], Awaitable[Response]]:
    async def route(name: str, request: Request) -> Response:
        return await handler(name, None, request)

    return route


def _versioned(handler: Handler) -> Callable[[str, str, Request], Awaitable[Response]]:
    async def route(name: str, version: str, request: Request) -> Response:
        return await handler(name, version, request)

    return route


def _error(error: UserError) -> Response:
    return Response(error_body(str(error)), _status(error), media_type="application/json")


def add_open_inference_routes(app: FastAPI, server: ModelServer) -> None:
    """Add the protocol's routes to a model server's ``app`` (and its fast path)."""
    tags = ["open inference protocol"]
    not_served = {404: {"description": "The model or version is not served here.", **ERROR_SCHEMA}}
    not_ready = {400: {"description": "Not ready.", **ERROR_SCHEMA}}

    @app.get("/v2", tags=tags, summary="The server's name, version and protocol extensions")
    async def server_metadata() -> dict[str, Any]:
        return {"name": "athanor", "version": __version__, "extensions": EXTENSIONS}

    @app.get("/v2/health/live", tags=tags, summary="The process is up")
    async def live() -> dict[str, bool]:
        return {"live": True}

    @app.get("/v2/health/ready", tags=tags, summary="Every model is loaded", responses=not_ready)
    async def ready() -> Response:
        ready = server.ready
        body = b'{"ready": true}' if ready else error_body("the server is not ready")
        return Response(body, 200 if ready else 400, media_type="application/json")

    async def metadata(name: str, version: str | None, _request: Request) -> Response:
        try:
            model = served_version(server, name, version)
        except UserError as exc:
            return _error(exc)
        return Response(json.dumps(model_metadata(model)), media_type="application/json")

    async def model_ready(name: str, version: str | None, _request: Request) -> Response:
        try:
            model = served_version(server, name, version)
        except UserError as exc:
            return _error(exc)
        if not server.ready:
            body = error_body(f"model '{name}' is not ready")
            return Response(body, 400, media_type="application/json")
        body = json.dumps({"name": model.name, "ready": True}).encode()
        return Response(body, 200, media_type="application/json")

    async def infer(name: str, version: str | None, request: Request) -> Response:
        status, headers, body = await answer_inference(server, name, version, request)
        return Response(body, status, headers={k.decode(): v.decode() for k, v in headers})

    infer_errors = {
        **not_served,
        400: {"description": "Tensors that do not fit the model, and why.", **ERROR_SCHEMA},
        413: {"description": "The body or the batch is too large.", **ERROR_SCHEMA},
    }
    routes = [
        ("", metadata, "GET", "A model's input and output tensors", not_served, None),
        ("/ready", model_ready, "GET", "The model is loaded", {**not_served, **not_ready}, None),
        (
            "/infer",
            infer,
            "POST",
            "Infer: JSON tensors, or binary tensor data",
            infer_errors,
            {"requestBody": INFER_REQUEST_BODY},
        ),
    ]
    for suffix, handler, method, summary, responses, extra in routes:
        for path, endpoint in (
            (f"/v2/models/{{name}}{suffix}", _latest(handler)),
            (f"/v2/models/{{name}}/versions/{{version}}{suffix}", _versioned(handler)),
        ):
            app.add_api_route(
                path,
                endpoint,
                methods=[method],
                tags=tags,
                summary=summary,
                responses=responses,
                openapi_extra=extra,
            )
    app.add_middleware(OpenInferenceFastPath, server=server)
