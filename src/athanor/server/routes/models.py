"""``/v1/models``: registered models and their versions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from athanor.server.json_safe import plain
from athanor.server.routes import NAME, Context, errors
from athanor.server.schemas import Open

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


class ModelDetailOut(ModelVersionOut):
    """A version with its package's metadata (``schema``: the data schema, among others)."""

    spec: dict[str, Any]
    lineage: dict[str, Any]


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
    """A version (newest by default) with its metrics, spec, data schema and lineage."""
    from athanor.api import models

    return plain(models.show(ref, settings=context.store.settings))
