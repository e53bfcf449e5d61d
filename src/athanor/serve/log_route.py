"""Log bodies of the prediction endpoint: a posted log in, its anomalous sessions out.

A log model (task ``next_key``) answers ``POST .../predict`` with the log as the body
(``text/plain`` or any non-JSON type) or as the first file of a multipart form; the query
parameter ``top_g`` overrides the model's g. The answer is
:meth:`~athanor.serve.log_prediction.LogResult.to_json`, with the model's reference.
"""

from __future__ import annotations

import asyncio
import json

from starlette.requests import Request

from athanor.errors import PredictionInputError
from athanor.serve.log_prediction import detect_log_anomalies
from athanor.serve.predictor import Predictor
from athanor.serve.series_route import first_file


async def log_answer(predictor: Predictor, ref: str, request: Request, body: bytes) -> bytes:
    """The JSON answer to a posted log.

    Raises:
        PredictionInputError: an empty body, a bad ``top_g``, or lines that do not fit the
            model's log format.
    """
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    name = "posted log"
    if media.startswith("multipart/form-data"):
        name, body = await first_file(request, body, "log.log")
    if not body.strip():
        raise PredictionInputError("send the log as the request body (text/plain) or a file")
    top_g = _top_g(request.query_params.get("top_g"))
    result = await asyncio.to_thread(detect_log_anomalies, predictor, body, name=name, top_g=top_g)
    answer = result.to_json()
    answer["model"] = ref
    return json.dumps(answer).encode()


def _top_g(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or int(value) < 1:
        raise PredictionInputError(f"top_g: '{value}' is not a whole number >= 1")
    return int(value)
