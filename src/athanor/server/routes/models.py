"""``/v1/models``: registered models and their versions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask

from athanor.server.json_safe import plain
from athanor.server.routes import NAME, Context, errors
from athanor.server.schemas import Open

MAX_BODY_ID = 2**31 - 1

router = APIRouter(prefix="/v1/models", tags=["models"])

ModelName = Annotated[
    str, Path(pattern=f"^{NAME}$", description="A model's name.", examples=["digits-mlp"])
]
ModelRef = Annotated[
    str,
    Path(
        pattern=f"^{NAME}(@(v?[1-9][0-9]{{0,8}}|[A-Za-z][A-Za-z0-9_-]{{0,63}}))?$",
        description="NAME (the newest version), NAME@VERSION or NAME@ALIAS.",
        examples=["digits-mlp@1"],
    ),
]


class ModelOut(Open):
    name: str
    versions: int
    latest: int | None


class ModelVersionOut(Open):
    name: str
    version: int
    ref: str
    run_id: int | None
    content_hash: str
    metrics: dict[str, Any]


class ScoreWarningOut(BaseModel):
    """A version scores worse than the version an alias points at, on one metric."""

    code: Literal["worse_than_alias"]
    alias: str
    alias_ref: str
    metric: str = Field(description="The metric both recorded (a test metric first).")
    value: float
    alias_value: float
    higher_is_better: bool
    message: str


class RegisteredOut(ModelVersionOut):
    """A new version, with warnings when it scores worse than an aliased version."""

    warnings: list[ScoreWarningOut] = Field(default_factory=list)


class ModelDetailOut(ModelVersionOut):
    """A version with its package's metadata (``schema``: the data schema, among others)."""

    spec: dict[str, Any]
    lineage: dict[str, Any]
    anomaly: dict[str, Any] | None = Field(
        default=None,
        description="Anomaly detectors: the threshold that flags a timestamp and how it was "
        "chosen (method, quantile or k, split, score statistics).",
    )
    warnings: list[ScoreWarningOut] = Field(
        default_factory=list,
        description="This version scores worse than a version an alias points at.",
    )


AliasName = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$",
        description="An alias such as production or staging.",
        examples=["production"],
    ),
]


class ModelRegister(BaseModel):
    """Register the model a finished run saved as the next version of a name."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=f"^{NAME}$", description="The model's name.")
    # A bound that JSON numbers hold exactly: near 2**62 a client's float rounds across it.
    run_id: int = Field(ge=1, le=MAX_BODY_ID, description="A succeeded run.")


class QuantizeRequest(BaseModel):
    """Register a version's INT8 ONNX graph as the next version of a name."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=f"^{NAME}$", description="The model name to register it under.")
    max_drop: float = Field(
        default=0.01,
        ge=-1,
        le=1,
        description="Refuse a graph losing more than this on the test split: accuracy as a "
        "fraction (0.01 is one point), or the relative RMSE increase for regression.",
    )
    calibration: int = Field(
        default=512, ge=1, le=100_000, description="Training samples calibrating a CNN."
    )


class QuantizedOut(RegisteredOut):
    """The INT8 version, with what its export measured."""

    quantization: dict[str, Any] = Field(
        description="Method, calibration samples, quantized operators, FP32 and INT8 "
        "scores on the test split and their change, size and latency ratios."
    )


class AliasSet(BaseModel):
    """The version an alias should point at."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=999_999_999)


class NetworkSummaryOut(Open):
    """Per layer: output shape, parameters, multiply-accumulates and FLOPs; with totals."""

    input_shape: list[int]
    layers: list[dict[str, Any]]
    totals: dict[str, Any]


@router.get("", response_model=list[ModelOut], summary="List models")
def list_models(context: Context) -> list[dict]:
    """Every registered model with its number of versions and its newest."""
    from athanor.api import models

    return [plain(record) for record in models.list(settings=context.store.settings)]


@router.get(
    "/{name}/versions",
    response_model=list[ModelVersionOut],
    responses=errors(404),
    summary="List a model's versions",
)
def list_model_versions(name: ModelName, context: Context) -> list[dict]:
    """Every version of a model, newest first."""
    from athanor.api import models
    from athanor.errors import NotFound

    versions = models.versions(name, settings=context.store.settings)
    if not versions:
        raise NotFound(f"no model named {name!r} (see GET /v1/models)")
    return [plain(version) for version in versions]


@router.get(
    "/{ref}",
    response_model=ModelDetailOut,
    responses=errors(400, 404),
    summary="Show a model version",
)
def get_model(ref: ModelRef, context: Context) -> dict:
    """A version (newest by default) with its metrics, spec, data schema and lineage, and
    whether it scores worse than a version an alias points at."""
    from athanor.api import models
    from athanor.registry.comparison import worse_than_aliases
    from athanor.registry.registry import resolve

    shown = plain(models.show(ref, settings=context.store.settings))
    warnings = worse_than_aliases(context.store, resolve(context.store, ref))
    return {**shown, "warnings": [warning.to_json() for warning in warnings]}


@router.post(
    "",
    status_code=201,
    response_model=RegisteredOut,
    responses=errors(400, 404, 413),
    summary="Register a run's model",
)
def register_model(body: ModelRegister, context: Context) -> dict:
    """Register the model package of a finished run as the next version of ``name``;
    ``warnings`` says when it scores worse than a version an alias points at (same metric,
    same direction), so that the alias is not moved to it by mistake."""
    from athanor.api import models
    from athanor.registry.comparison import worse_than_aliases

    record = models.register(body.name, body.run_id, settings=context.store.settings)
    warnings = worse_than_aliases(context.store, record)
    return {**plain(record), "warnings": [warning.to_json() for warning in warnings]}


@router.get(
    "/{ref}/summary",
    response_model=NetworkSummaryOut,
    responses=errors(400, 404),
    summary="A model's network, layer by layer",
)
def model_summary(ref: ModelRef, context: Context) -> dict:
    """Output shapes, parameters, multiply-accumulates and FLOPs of every layer, for one
    sample of the model's input."""
    from athanor.api.networks import summarize

    return plain(summarize(ref, settings=context.store.settings).to_json())


SUFFIXES = {"zip": ".zip", "onnx": ".onnx", "torchscript": ".pt"}


@router.get(
    "/{ref}/export",
    response_class=FileResponse,
    responses={
        200: {
            "description": "The exported file.",
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        },
        **errors(400, 404),
    },
    summary="Download a model version",
)
def export_model(
    ref: ModelRef,
    context: Context,
    format: Annotated[
        Literal["zip", "onnx", "torchscript"],
        Query(description="zip: the package (weights, spec, model card); or ONNX, TorchScript."),
    ] = "zip",
    quantize: Annotated[
        Literal["int8"] | None,
        Query(description="int8: an INT8 ONNX graph (format onnx), measured on the test split."),
    ] = None,
    max_drop: Annotated[
        float,
        Query(
            ge=-1,
            le=1,
            description="Refuse an INT8 graph losing more than this: accuracy as a fraction, "
            "or the relative RMSE increase for regression.",
        ),
    ] = 0.01,
    calibration: Annotated[
        int, Query(ge=1, le=100_000, description="Training samples calibrating a CNN.")
    ] = 512,
) -> FileResponse:
    """The version exported as a file: ONNX and TorchScript exports are checked against the
    network first (an operation a format cannot express is named with its layer). With
    ``quantize=int8`` the ONNX graph is quantized and measured on the test split; a graph
    losing more than ``max_drop`` is refused (400, naming both scores)."""
    import shutil
    import tempfile
    from pathlib import Path as FilePath

    from athanor.api import models
    from athanor.registry.registry import resolve

    record = resolve(context.store, ref)
    folder = FilePath(tempfile.mkdtemp(prefix="export-", dir=_scratch(context)))
    try:
        variant = f".{quantize}" if quantize else ""
        target = folder / f"{record.name}-v{record.version}{variant}{SUFFIXES[format]}"
        result = models.export(
            record.ref,
            target,
            format,
            quantize=quantize,
            max_drop=max_drop,
            calibration=calibration,
            settings=context.store.settings,
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        result.path,
        media_type="application/octet-stream",
        filename=result.path.name,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


@router.post(
    "/{ref}/quantized",
    status_code=201,
    response_model=QuantizedOut,
    responses=errors(400, 404, 413),
    summary="Register a version's INT8 graph",
)
def quantize_model(ref: ModelRef, body: QuantizeRequest, context: Context) -> dict:
    """Quantize the version's ONNX graph to INT8 (static with calibration for convolutional
    networks, dynamic for dense and recurrent ones), measure it against FP32 on the test
    split, and register it as the next version of ``name``, served by ONNX Runtime. A graph
    losing more than ``max_drop`` is refused (400, naming both scores; nothing registered)."""
    import shutil
    import tempfile
    from pathlib import Path as FilePath

    from athanor.api import models
    from athanor.registry.comparison import worse_than_aliases

    folder = FilePath(tempfile.mkdtemp(prefix="quantize-", dir=_scratch(context)))
    try:
        result = models.export(
            ref,
            folder / "model.int8.onnx",
            "onnx",
            quantize="int8",
            max_drop=body.max_drop,
            calibration=body.calibration,
            register=body.name,
            settings=context.store.settings,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    name, _, version = result.details["registered"].partition("@")
    record = context.store.models.get(name, int(version))
    warnings = worse_than_aliases(context.store, record)
    return {
        **plain(record),
        "warnings": [warning.to_json() for warning in warnings],
        "quantization": plain(result.details["quantization"]),
    }


def _scratch(context: Context) -> str:
    folder = context.store.settings.home / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder)


@router.put(
    "/{name}/aliases/{alias}",
    response_model=ModelVersionOut,
    responses=errors(400, 404, 413),
    summary="Point an alias at a version",
)
def set_model_alias(name: ModelName, alias: AliasName, body: AliasSet, context: Context) -> dict:
    """Point ``name@alias`` at a version; deployments following it swap without dropping
    requests."""
    from athanor.api import models

    record, _previous = models.set_alias(name, alias, body.version, settings=context.store.settings)
    return plain(record)


@router.delete(
    "/{name}/aliases/{alias}",
    status_code=204,
    response_class=Response,
    responses=errors(400, 404),
    summary="Remove an alias",
)
def remove_model_alias(name: ModelName, alias: AliasName, context: Context) -> Response:
    from athanor.api import models

    models.remove_alias(name, alias, settings=context.store.settings)
    return Response(status_code=204)


@router.delete(
    "/{name}/versions/{version}",
    response_model=list[ModelVersionOut],
    responses=errors(400, 404, 409),
    summary="Delete a model version and its package",
)
def delete_model_version(
    name: ModelName,
    version: Annotated[int, Path(ge=1, description="The version number.")],
    context: Context,
    force: Annotated[
        bool, Query(description="Also when an alias points at it (the alias goes with it).")
    ] = False,
) -> list[dict]:
    """Refused while a running deployment serves it (409), and while an alias points at it
    unless ``force`` (400, naming the alias)."""
    from athanor.api import models

    deleted = models.delete(f"{name}@{version}", force=force, settings=context.store.settings)
    return [plain(record) for record in deleted]
