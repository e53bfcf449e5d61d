"""Request bodies of the prediction API turned into raw batches, and results into JSON.

The bodies are read here, by the rules that :mod:`athanor.serve.predict_bodies` declares
(parsing through pydantic would cost more than predicting for a small model, and the
endpoint takes files, CSV and images too).

JSON strings are text or base64 images, never paths: nothing a client sends can make the
server read one of its own files.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import numpy as np

from athanor.errors import PredictionInputError, UnsupportedMediaType
from athanor.serve.inputs import (
    IMAGE_SUFFIXES,
    TEXT_SUFFIXES,
    decode_image,
    header_given,
    parse_csv_text,
    parse_table_text,
)
from athanor.serve.predictor import Predictor

JSON_TYPES = ("application/json",)
CSV_TYPES = ("text/csv", "application/csv")


def raw_from_body(predictor: Predictor, content_type: str, body: bytes) -> np.ndarray:
    """A raw batch from a JSON, CSV or image body (multipart is read by the app).

    Raises:
        PredictionInputError: a body that does not fit the model, naming what is wrong.
        UnsupportedMediaType: another content type.
    """
    media = content_type.split(";", 1)[0].strip().lower()
    if media in JSON_TYPES or media.endswith("+json") or (not media and body[:1] in b"[{"):
        return raw_from_json(predictor, _json(body))
    if media in CSV_TYPES:
        return raw_from_upload(predictor, "body.csv", content_type, body)
    if media.startswith("image/"):
        return raw_from_upload(predictor, "body", media, body)
    raise UnsupportedMediaType(
        f"content type '{media or 'none'}' is not read here; send application/json "
        '({"inputs": [...]}), multipart/form-data files, text/csv or an image'
    )


def _json(body: bytes) -> Any:
    if not body.strip():
        raise PredictionInputError('the body is empty; send {"inputs": [...]}')
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise PredictionInputError(f"the body is not valid JSON: {exc}") from None


def _reject_constant(name: str) -> Any:
    raise PredictionInputError(f"the body holds {name}; send finite numbers")


def raw_from_json(predictor: Predictor, payload: Any) -> np.ndarray:
    """A raw batch from a decoded JSON body: ``{"inputs": [...]}`` or a bare list.

    ``inputs`` holds one of: numbers (a tensor of one sample or a batch), rows as
    ``{feature: value}`` objects, strings (text models), or ``{"b64": "..."}`` images.

    Raises:
        PredictionInputError: naming the key, sample or shape that does not fit.
    """
    if isinstance(payload, dict):
        unknown = sorted(set(payload) - {"inputs"})
        if unknown:
            raise PredictionInputError(
                f'unknown key(s) {", ".join(unknown)}; the body is {{"inputs": [...]}}'
            )
        if "inputs" not in payload:
            raise PredictionInputError('the body lacks "inputs": send {"inputs": [...]}')
        payload = payload["inputs"]
    if not isinstance(payload, list) or not payload:
        raise PredictionInputError('"inputs" must be a non-empty list')
    if all(isinstance(item, str) for item in payload):
        return predictor.text_to_raw(payload)
    if predictor.schema.input.columns and all(isinstance(item, dict | list) for item in payload):
        return predictor.to_raw(payload)  # rows of a table: {column: value} or values in order
    if all(isinstance(item, dict) for item in payload):
        if all(set(item) == {"b64"} for item in payload):
            return _images_from_base64(predictor, payload)
        return predictor.to_raw(payload)
    try:
        array = np.asarray(payload)
    except ValueError:
        raise PredictionInputError(
            '"inputs" is ragged: every sample must have the same shape '
            f"{predictor.schema.input.shape}"
        ) from None
    if array.dtype.kind not in "biuf":
        raise PredictionInputError(
            '"inputs" must hold only numbers (or only rows, texts or {"b64": image} objects)'
        )
    if array.dtype.kind == "f" and predictor.schema.input.kind != "tokens":
        array = array.astype(np.float32)  # values beyond float32 become inf and are refused
    return predictor.to_raw(array)


def _images_from_base64(predictor: Predictor, items: list[dict[str, Any]]) -> np.ndarray:
    if predictor.schema.input.kind != "image":
        raise PredictionInputError(
            f"this model takes {predictor.schema.input.kind} inputs, not images"
        )
    images = []
    for index, item in enumerate(items):
        try:
            data = base64.b64decode(str(item["b64"]), validate=True)
        except (binascii.Error, ValueError):
            raise PredictionInputError(f"input {index}: b64 is not valid base64") from None
        images.append(decode_image(data, predictor.schema, name=f"input {index}"))
    return np.stack(images)


def raw_from_upload(
    predictor: Predictor, filename: str, content_type: str, data: bytes
) -> np.ndarray:
    """A raw batch from one uploaded file: an image or a text document (one sample) or a CSV
    (one per row). A table model's CSV may have a header (columns in any order, others
    ignored) or not (its columns in order); ``text/csv; header=absent|present`` says which,
    else the first row tells.

    Raises:
        PredictionInputError: an unreadable file or one the model cannot take, naming it.
    """
    name = filename or "upload"
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if suffix == ".csv" or media in CSV_TYPES:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise PredictionInputError(f"{name}: not UTF-8 text") from None
        if predictor.schema.input.columns:
            table, _labels = parse_table_text(
                text, predictor.schema, name=name, header=header_given(content_type or "")
            )
            return table  # type: ignore[no-any-return]
        rows, _labels = parse_csv_text(text, predictor.schema, name=name)
        return rows.reshape(len(rows), *predictor.schema.input.shape)
    if predictor.schema.input.kind == "tokens" and (
        suffix in TEXT_SUFFIXES or media == "text/plain"
    ):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise PredictionInputError(f"{name}: not UTF-8 text") from None
        return predictor.text_to_raw([text.replace("\r\n", "\n")])  # type: ignore[return-value]
    if predictor.schema.input.kind == "image" and (
        suffix in IMAGE_SUFFIXES or media.startswith("image/") or not suffix
    ):
        return decode_image(data, predictor.schema, name=name)[None]
    valid = {"image": "images or CSV files", "tokens": "text files (.txt) or CSV files"}.get(
        predictor.schema.input.kind, "CSV files"
    )
    raise PredictionInputError(f"{name}: unsupported file; this model takes {valid}")


def predictions_json(
    predictor: Predictor,
    scores: np.ndarray,
    model_ref: str,
    sizes: list[tuple[int, int] | None] | None = None,
    threshold: float | None = None,
) -> bytes:
    """The response body: the serving version and one prediction per sample (a detector's
    boxes scoring ``threshold`` or more, default 0.3, in the pixels of each uploaded image's
    ``sizes`` where known).

    Raises:
        PredictionInputError: the network gave NaN or infinity for these inputs.
    """
    if not np.isfinite(scores).all():
        raise PredictionInputError(
            "the model gave non-finite outputs for these inputs; are they far outside the "
            "range of its training data?"
        )
    classes = predictor.schema.classes
    if predictor.schema.task == "classification" and classes:
        # The fields of Prediction.to_json, built straight from the rows: this runs for
        # every request a server answers, on the event loop. The best class is found in the
        # rows rather than by ndarray.argmax, which lets go of the GIL for any size of array:
        # the batcher's thread takes it, and the loop waits to have it back.
        predictions: list[dict[str, Any]] = []
        for row in scores.tolist():
            best = row.index(max(row))  # the first of equal scores, as argmax
            predictions.append(
                {
                    "label": classes[best],
                    "probability": row[best],
                    "probabilities": dict(zip(classes, row, strict=True)),
                }
            )
    else:
        found = predictor.predictions(scores, sizes, threshold=threshold)
        predictions = [p.to_json() for p in found]
    return json.dumps({"model": model_ref, "predictions": predictions}).encode()
