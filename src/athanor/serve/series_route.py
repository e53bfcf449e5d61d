"""Series bodies of the prediction endpoint: a whole series in, per-timestamp anomaly scores,
flags and flagged intervals (or a forecast ahead of its end) out.

A series model (an anomaly detector or a forecaster) answers ``POST .../predict`` with a
series when the body is one: ``text/csv`` (a timestamp column and the value columns), a
multipart CSV file, or JSON ``{"timestamps": [...], "values": [...]}``. The query takes
``duplicates=first|mean`` (rows sharing a timestamp) and ``threshold=`` (anomaly detectors).
Other bodies (``{"inputs": [...]}`` windows) go the usual way.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request

from athanor.errors import PredictionInputError
from athanor.serve.predictor import Predictor
from athanor.serve.series_prediction import (
    Series,
    detect_anomalies,
    forecast,
    read_series,
    series_from_json,
)

CSV_TYPES = ("text/csv", "application/csv", "text/plain")


async def series_answer(
    predictor: Predictor, ref: str, request: Request, body: bytes
) -> bytes | None:
    """The JSON answer to a series body, or None when the body is not a series.

    Raises:
        PredictionInputError: a series that does not fit the model, or bad query values.
    """
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    duplicates = request.query_params.get("duplicates", "error")
    if duplicates not in ("error", "first", "mean"):
        raise PredictionInputError(f"duplicates: '{duplicates}' is not one of error, first, mean")
    threshold = _threshold(request.query_params.get("threshold"))
    if media in CSV_TYPES:
        return await asyncio.to_thread(
            _answer,
            predictor,
            ref,
            lambda: read_series(predictor, body, duplicates=duplicates),
            threshold,
        )
    if media.startswith("multipart/form-data"):
        name, data = await _csv_part(request, body)
        return await asyncio.to_thread(
            _answer,
            predictor,
            ref,
            lambda: read_series(predictor, data, name=name, duplicates=duplicates),
            threshold,
        )
    if media == "application/json" or (not media and body[:1] == b"{"):
        try:
            payload = json.loads(body)
        except ValueError:
            return None  # the usual path names the JSON error
        if isinstance(payload, dict) and "timestamps" in payload:
            if duplicates != "error":
                payload.setdefault("duplicates", duplicates)
            return await asyncio.to_thread(
                _answer, predictor, ref, lambda: series_from_json(predictor, payload), threshold
            )
    return None


def _threshold(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        raise PredictionInputError(f"threshold: '{value}' is not a number") from None


def _answer(predictor: Predictor, ref: str, read: Any, threshold: float | None) -> bytes:
    series: Series = read()
    if predictor.schema.task == "forecasting":
        result: Any = forecast(predictor, series)
    else:
        result = detect_anomalies(predictor, series, threshold=threshold)
    answer = result.to_json()
    answer["model"] = ref
    return json.dumps(answer).encode()


async def _csv_part(request: Request, body: bytes) -> tuple[str, bytes]:
    """The first file of a multipart body: its name and bytes."""
    return await first_file(request, body, "series.csv")


async def first_file(request: Request, body: bytes, default: str) -> tuple[str, bytes]:
    """The first file of a multipart body: its name (``default`` when it has none) and
    bytes.

    Raises:
        PredictionInputError: an unreadable body, or one without a file.
    """

    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=4, max_fields=20)
    except HTTPException as exc:
        raise PredictionInputError(f"unreadable multipart body: {exc.detail}") from None
    try:
        for _field, value in form.multi_items():
            if not isinstance(value, str):
                return value.filename or default, await value.read()
    finally:
        await form.close()
    raise PredictionInputError(f"the multipart body holds no file; send the {default} as a file")
