"""The prediction endpoint's bodies, declared once for the model server and the platform's
deployments: :class:`PredictRequest` (a JSON body), :data:`PREDICT_REQUEST_BODY` (every
content type the endpoint reads, for the OpenAPI schema) and :class:`PredictionsOut` (the
answer).

The endpoint reads bodies itself (:mod:`athanor.serve.payloads`) by these rules. This module
imports no numerical library: the platform declares its routes with it at startup.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class PredictRequest(BaseModel):
    """A JSON prediction request: one sample or a batch of samples of the model's input."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"inputs": [{"sepal length (cm)": 5.1, "sepal width (cm)": 3.5}]}]
        },
    )

    inputs: list[Any] = Field(
        min_length=1,
        description="A tensor of one sample or a batch (raw values, e.g. pixels 0-255), rows "
        'as {feature: value} objects, texts, or {"b64": "<base64 image>"} objects.',
    )


class PredictionOut(BaseModel):
    """One prediction: a classifier's label and probabilities, or a regressor's values."""

    model_config = ConfigDict(extra="allow")

    label: str | None = None
    probability: float | None = None
    probabilities: dict[str, float] | None = None
    values: list[Any] | None = None


class PredictionsOut(BaseModel):
    """The version that answered and one prediction per input sample, in order (a
    classifier's label, probability and probabilities; a regressor's values)."""

    model: str = Field(description="NAME@VERSION that answered.")
    predictions: list[PredictionOut]


PREDICT_REQUEST_SCHEMA = "PredictRequest"
PREDICT_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {"$ref": f"#/components/schemas/{PREDICT_REQUEST_SCHEMA}"},
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
        "text/csv": {
            "schema": {
                "type": "string",
                "description": "Rows, one sample each; for a series model (anomaly detector "
                "or forecaster) a whole series (a timestamp column and its value columns), "
                "answered with per-timestamp scores, flags and flagged intervals, or the "
                "forecast (query: duplicates=first|mean, threshold=).",
            }
        },
        "image/png": {"schema": {"type": "string", "format": "binary"}},
    },
}
"""The OpenAPI ``requestBody`` of a prediction endpoint; its JSON schema is a component
that :func:`add_predict_request_schema` adds."""


def add_predict_request_schema(openapi: dict[str, Any]) -> None:
    """Add :class:`PredictRequest` to an OpenAPI document's components (the prediction
    endpoints declare their body as :data:`PREDICT_REQUEST_BODY`, which refers to it)."""
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    schemas[PREDICT_REQUEST_SCHEMA] = PredictRequest.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
