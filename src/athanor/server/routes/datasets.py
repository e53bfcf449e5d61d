"""``/v1/datasets`` and ``/v1/uploads``: the catalog, imported datasets, uploads, imports."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from athanor.errors import UserError
from athanor.server.guards import BODY_TOO_LARGE
from athanor.server.json_safe import plain
from athanor.server.routes import NAME, Context, errors, is_local_client
from athanor.server.schemas import (
    DatasetDependentsOut,
    ErrorOut,
    ImportRequest,
    Open,
    PathImportRequest,
    UploadedFile,
    UploadOut,
)
from athanor.server.uploads import UPLOAD_ID_PATTERN, UPLOAD_PATH_PATTERN
from athanor.spec.imports import ImportOptions

router = APIRouter(tags=["datasets"])

DatasetRef = Annotated[
    str,
    Path(
        pattern=f"^{NAME}(@[A-Za-z0-9]{{1,64}})?$",
        description="A catalog name, or an imported NAME, NAME@NUMBER or NAME@HASH-PREFIX.",
        examples=["iris"],
    ),
]
DatasetName = Annotated[
    str, Path(pattern=f"^{NAME}$", description="An imported dataset's name.", examples=["iris"])
]
DatasetVersion = Annotated[
    str,
    Path(
        pattern="^[A-Za-z0-9]{1,64}$",
        description="A version's number or a prefix of its content hash (4 characters or more).",
        examples=["2"],
    ),
]
UploadId = Annotated[str, Path(pattern=UPLOAD_ID_PATTERN, description="The upload's id.")]
UploadPath = Annotated[
    str,
    Path(
        pattern=UPLOAD_PATH_PATTERN,
        description="Where in the upload, '/'-separated, e.g. images/cat/1.png.",
        examples=["houses.csv"],
    ),
]


class CatalogEntryOut(Open):
    name: str
    task: str
    kind: str
    description: str


class DatasetVersionOut(Open):
    name: str
    number: int
    ref: str
    version: str
    kind: str
    task: str
    rows: int
    size_bytes: int


class DatasetOut(Open):
    name: str
    versions: int
    latest: DatasetVersionOut


class ImportedOut(DatasetVersionOut):
    reused: bool


@router.get("/v1/datasets", response_model=list[DatasetOut], summary="List imported datasets")
def list_datasets(context: Context) -> list[dict]:
    """Every imported dataset with its number of versions and newest version."""
    return [plain(summary) for summary in context.store.datasets.list()]


@router.get(
    "/v1/datasets/catalog", response_model=list[CatalogEntryOut], summary="The dataset catalog"
)
def dataset_catalog() -> list[dict]:
    """The built-in datasets: task, kind, size, license and source."""
    from athanor.api import datasets

    return [plain(entry) for entry in datasets.catalog()]


@router.get(
    "/v1/datasets/{ref}",
    response_model=dict[str, Any],
    responses=errors(400, 404),
    summary="Describe a dataset",
)
def get_dataset(ref: DatasetRef, context: Context) -> dict:
    """Schema, counts, class balance, missing values and provenance of a dataset."""
    from athanor.api import datasets

    return plain(datasets.show(ref, settings=context.store.settings))


@router.get(
    "/v1/datasets/{name}/versions",
    response_model=list[DatasetVersionOut],
    responses=errors(400, 404),
    summary="List a dataset's versions",
)
def list_dataset_versions(name: DatasetName, context: Context) -> list[dict]:
    """Every imported version of a dataset, newest first."""
    from athanor.api import datasets

    return [plain(v) for v in datasets.versions(name, settings=context.store.settings)]


@router.get(
    "/v1/datasets/{name}/dependents",
    response_model=DatasetDependentsOut,
    responses=errors(404),
    summary="What depends on a dataset",
)
def get_dataset_dependents(name: DatasetName, context: Context) -> dict:
    """What a deletion of every version would touch: the jobs and labeling projects that
    refuse it, the model versions trained on it (they keep working), the finished runs."""
    from athanor.data.removal import dataset_dependents

    return dataset_dependents(context.store, name).to_json()


@router.get(
    "/v1/datasets/{name}/versions/{version}/dependents",
    response_model=DatasetDependentsOut,
    responses=errors(404),
    summary="What depends on a dataset version",
)
def get_dataset_version_dependents(
    name: DatasetName, version: DatasetVersion, context: Context
) -> dict:
    """As for a whole dataset, for one version."""
    from athanor.data.removal import dataset_dependents

    return dataset_dependents(context.store, f"{name}@{version}").to_json()


@router.delete(
    "/v1/datasets/{name}/versions",
    status_code=204,
    response_class=Response,
    responses=errors(404, 409),
    summary="Delete a dataset",
)
def delete_dataset(name: DatasetName, context: Context) -> Response:
    """Delete every version of an imported dataset and its files, for good (the original
    can be imported again). Refused (409, naming them) while a queued or running job trains
    on it or a labeling project is built on it; model versions trained on it keep working."""
    from athanor.data.removal import delete_dataset as delete

    delete(context.store, name)
    return Response(status_code=204)


@router.delete(
    "/v1/datasets/{name}/versions/{version}",
    status_code=204,
    response_class=Response,
    responses=errors(404, 409),
    summary="Delete a dataset version",
)
def delete_dataset_version(
    name: DatasetName, version: DatasetVersion, context: Context
) -> Response:
    """As for a whole dataset, for one version; its number is never given again."""
    from athanor.data.removal import delete_dataset as delete

    delete(context.store, f"{name}@{version}")
    return Response(status_code=204)


@router.get(
    "/v1/datasets/{ref}/preview",
    response_model=dict[str, Any],
    responses=errors(400, 404),
    summary="Preview a dataset",
)
def preview_dataset(
    ref: DatasetRef,
    context: Context,
    rows: Annotated[int, Query(ge=1, le=20, description="How many samples.")] = 5,
    seed: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> dict:
    """A few seeded random samples: table rows, images (uint8 [C, H, W]) with labels, text."""
    from athanor.api import datasets

    return plain(datasets.preview(ref, rows=rows, seed=seed, settings=context.store.settings))


@router.get(
    "/v1/datasets/{ref}/preview.png",
    response_class=Response,
    responses={
        200: {"description": "The PNG.", "content": {"image/png": {}}},
        400: {"model": ErrorOut, "description": "Not a detection dataset."},
        404: {"model": ErrorOut, "description": "No such dataset or version."},
    },
    summary="A detection dataset's images with their boxes (PNG)",
)
def preview_boxes(
    ref: DatasetRef,
    context: Context,
    count: Annotated[int, Query(ge=1, le=64, description="How many images.")] = 16,
    seed: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> Response:
    """A grid of ``count`` seeded random images with their boxes and class names drawn, one
    fixed colour per class; as ``athanor data preview NAME --out FILE.png``."""
    from athanor.api import datasets

    png = datasets.preview_boxes(ref, count=count, seed=seed, settings=context.store.settings)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


@router.post(
    "/v1/datasets",
    status_code=201,
    response_model=ImportedOut,
    responses=errors(400, 404, 413),
    summary="Import an upload as a dataset",
)
def import_dataset(body: ImportRequest, context: Context) -> dict:
    """Import a file or folder of an upload as a new version of a dataset (or find the
    version with the same content). Bad data is refused naming the file, line or column."""
    source = context.uploads.source(body.upload, body.path)
    try:
        return _import(source, body, context)
    except UserError as error:
        # The console names a file by its place in the upload, not by a server path.
        within_upload(error, context.uploads.folder(body.upload))
        raise


@router.post(
    "/v1/datasets/imports/path",
    status_code=201,
    response_model=ImportedOut,
    responses={
        **errors(400, 404),
        403: {"model": ErrorOut, "description": "Only clients on the platform's machine."},
    },
    summary="Import a file or folder of the platform's machine",
)
def import_dataset_path(body: PathImportRequest, request: Request, context: Context) -> dict:
    """Import a file or folder that is already on the platform's machine (no upload).

    Only clients on the machine itself may name its paths, and only inside the platform's
    import folders (``athanor up --import-root``; default only the dataset mirrors).
    Others upload the files.
    """
    from athanor.errors import NotFound, PermissionDenied

    if not is_local_client(request):
        raise PermissionDenied(
            "importing a path of the platform's machine is allowed only from that machine; "
            "upload the files instead (POST /v1/uploads)",
            code="import_path_remote",
            field="path",
        )
    source = FilePath(body.path).expanduser()
    if not source.is_absolute():
        raise UserError(f"path {body.path!r}: give an absolute path on the platform's machine")
    resolved = source.resolve()  # links resolved first: a link cannot lead outside
    root = next((r for r in context.import_roots if resolved.is_relative_to(r)), None)
    if root is None:
        roots = ", ".join(str(root) for root in context.import_roots) or "none"
        raise UserError(
            f"path {body.path!r} is outside the folders this platform imports from ({roots}); "
            "start it with 'athanor up --import-root FOLDER', or upload the files",
            code="import_path_outside_roots",
            params={"path": body.path},
            field="path",
        )
    hidden = [part for part in resolved.relative_to(root).parts if part.startswith(".")]
    if hidden:
        raise UserError(
            f"path {body.path!r} is hidden ({hidden[0]!r}); hidden files and folders are "
            "never imported by path"
        )
    if not resolved.exists():
        raise NotFound(
            f"path {body.path!r}: no such file or folder on the platform's machine",
            code="import_path_not_found",
            params={"path": body.path},
            field="path",
        )
    return _import(resolved, body, context)


def within_upload(error: UserError, folder: FilePath) -> None:
    """Rewrite the file and path parameters of ``error`` that lie in an upload's ``folder``
    relative to it (its message, for the CLI and API, is left as it is)."""
    for key in ("file", "path"):
        value = error.params.get(key)
        if isinstance(value, str) and FilePath(value).is_relative_to(folder):
            error.params[key] = FilePath(value).relative_to(folder).as_posix()


def _import(source: Any, body: ImportRequest | PathImportRequest, context: Context) -> dict:
    """Import ``source`` with the request's options (both import routes take the same)."""
    from athanor.api import datasets

    options = ImportOptions(**body.model_dump(include=set(ImportOptions.model_fields)))
    return plain(datasets.import_dataset(source, options, settings=context.store.settings))


@router.get(
    "/v1/datasets/{ref}/stats",
    response_model=dict[str, Any],
    responses=errors(400, 404),
    summary="A dataset's statistics",
)
def dataset_stats(ref: DatasetRef, context: Context) -> dict:
    """Per-column (tables, series) or per-channel (images) statistics and class balance."""
    from athanor.api import datasets

    return plain(datasets.stats(ref, settings=context.store.settings))


def _upload_view(context: Context, upload_id: str) -> UploadOut:
    files = [UploadedFile(path=p, size=s) for p, s in context.uploads.files(upload_id)]
    return UploadOut(id=upload_id, files=files, size=sum(f.size for f in files))


@router.post("/v1/uploads", status_code=201, response_model=UploadOut, summary="Start an upload")
def create_upload(context: Context) -> UploadOut:
    """A new, empty upload folder; send its files with PUT, then import it."""
    return _upload_view(context, context.uploads.create())


@router.get(
    "/v1/uploads/{upload_id}",
    response_model=UploadOut,
    responses=errors(404),
    summary="List an upload's files",
)
def get_upload(upload_id: UploadId, context: Context) -> UploadOut:
    return _upload_view(context, upload_id)


@router.put(
    "/v1/uploads/{upload_id}/files/{path:path}",
    response_model=UploadedFile,
    responses=errors(400, 404, 413),
    summary="Upload a file",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {
                    "schema": {"type": "string", "format": "binary", "minLength": 1}
                }
            },
        }
    },
)
async def put_upload_file(
    upload_id: UploadId,
    path: UploadPath,
    request: Request,
    context: Context,
) -> UploadedFile:
    """Write the request body as a file of the upload (replacing one at that path).

    The path must stay inside the upload: relative, '/'-separated, without '..', hidden
    names or control characters.
    """
    size = await context.uploads.write(
        upload_id, path, request.stream(), cut=lambda: bool(request.scope.get(BODY_TOO_LARGE))
    )
    return UploadedFile(path=path, size=size)


@router.delete(
    "/v1/uploads/{upload_id}",
    status_code=204,
    response_class=Response,
    responses=errors(404),
    summary="Delete an upload",
)
def delete_upload(upload_id: UploadId, context: Context) -> Response:
    """Remove an upload and its files (imported versions are kept: imports copy the data)."""
    context.uploads.delete(upload_id)
    return Response(status_code=204)
