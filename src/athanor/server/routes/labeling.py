"""``/v1/label/projects``: labeling projects, items, labels, pre-labels, review, versions.

Labels are made by the caller: the user their token or console session belongs to, or
``local`` (see :func:`athanor.server.routes.principal`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Path, Query, Request, Response, UploadFile

from athanor.server.json_safe import plain
from athanor.server.labeling_schemas import (
    AcceptIn,
    AgreementOut,
    BoxesIn,
    ItemOut,
    ItemPage,
    LabelsImportedOut,
    LabelsIn,
    PrelabeledOut,
    PrelabelIn,
    ProjectCreate,
    ProjectOut,
    ProjectPatch,
    PublishOut,
    ReviewIn,
    TrainIn,
    TrainOut,
    UpdatedOut,
)
from athanor.server.routes import NAME, Context, errors, principal

router = APIRouter(prefix="/v1/label/projects", tags=["labeling"])

ProjectName = Annotated[
    str, Path(pattern=f"^{NAME}$", description="The project's name.", examples=["digits"])
]
MAX_LABELS_FILE = 256 * 1024 * 1024


def labeler(request: Request) -> str:
    """Who labels: the caller's user (``local`` under ``--no-auth``)."""
    return principal(request)


@router.post(
    "",
    status_code=201,
    response_model=ProjectOut,
    responses=errors(400, 404, 409, 413),
    summary="Create a labeling project",
)
def create_project(body: ProjectCreate, request: Request, context: Context) -> dict:
    """A project on an imported dataset (labeled, unlabeled or mixed); labels already in the
    dataset become person labels by ``imported``; without labels, the dataset's classes."""
    from athanor.label.projects import create_project as create
    from athanor.label.projects import project_view

    project = create(
        context.store,
        body.name,
        body.dataset,
        kind=body.kind,
        labels=body.labels,
        instructions=body.instructions,
        by=labeler(request),
    )
    return plain(project_view(context.store, project))


@router.get("", response_model=list[ProjectOut], summary="List labeling projects")
def list_projects(context: Context) -> list[dict]:
    from athanor.label.projects import project_view

    store = context.store
    return [plain(project_view(store, p)) for p in store.labeling.list_projects()]


@router.get("/{name}", response_model=ProjectOut, responses=errors(404), summary="Show a project")
def get_project(name: ProjectName, context: Context) -> dict:
    """Its label set, instructions, progress and per-class counts, training, versions."""
    from athanor.label.projects import project_view

    return plain(project_view(context.store, context.store.labeling.get_project(name)))


@router.patch(
    "/{name}",
    response_model=ProjectOut,
    responses=errors(400, 404),
    summary="Change a project's labels or instructions",
)
def patch_project(name: ProjectName, body: ProjectPatch, context: Context) -> dict:
    from athanor.label.projects import project_view, update_project

    project = update_project(
        context.store, name, labels=body.labels, instructions=body.instructions
    )
    return plain(project_view(context.store, project))


@router.get(
    "/{name}/items", response_model=ItemPage, responses=errors(400, 404), summary="Page items"
)
def list_items(
    name: ProjectName,
    context: Context,
    state: Literal["all", "unlabeled", "prelabeled", "labeled", "rejected"] = "all",
    sort: Literal["index", "uncertainty"] = "index",
    strategy: Literal["least", "margin", "entropy"] = "least",
    label: Annotated[str | None, Query(max_length=100)] = None,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict:
    """Items in id order, or the most uncertain pre-labels first (``sort=uncertainty``)."""
    from athanor.label.projects import list_items as page

    return plain(
        page(
            context.store,
            name,
            state=state,
            sort=sort,
            strategy=strategy,
            label=label,
            offset=offset,
            limit=limit,
        )
    )


@router.get(
    "/{name}/items/{item}/image",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **errors(400, 404)},
    summary="An item's image (PNG)",
)
def item_image(
    name: ProjectName,
    item: Annotated[int, Path(ge=0, le=2**31)],
    context: Context,
    size: Annotated[int | None, Query(ge=8, le=4096)] = None,
) -> Response:
    """The image, its longer edge at most ``size`` pixels when given (a thumbnail)."""
    from athanor.errors import UserError
    from athanor.label import sources

    project = context.store.labeling.get_project(name)
    if project.kind == "text":
        raise UserError(f"project {name} labels texts; its items have no image")
    source = sources.source_version(context.store, project.dataset)
    return Response(
        sources.item_png(source, item, size),
        media_type="image/png",
        headers={"Cache-Control": "private, max-age=3600"},
    )


@router.get(
    "/{name}/items/{item}",
    response_model=ItemOut,
    responses=errors(400, 404),
    summary="One item (its label or boxes, and the pre-label)",
)
def get_item(
    name: ProjectName, item: Annotated[int, Path(ge=0, le=2**31)], context: Context
) -> dict:
    from athanor.errors import NotFound
    from athanor.label.projects import item_view

    project = context.store.labeling.get_project(name)
    records = context.store.labeling.get_items(project.id, [item])
    if not records:
        size = context.store.labeling.size(project.id)
        raise NotFound(f"no item {item} in project {name}; ids are 0..{size - 1}")
    return plain(item_view(records[0]))


@router.put(
    "/{name}/items/{item}/boxes",
    response_model=UpdatedOut,
    responses=errors(400, 404),
    summary="Set an item's boxes (a person)",
)
def put_boxes(
    name: ProjectName,
    item: Annotated[int, Path(ge=0, le=2**31)],
    body: BoxesIn,
    request: Request,
    context: Context,
) -> dict:
    """The caller's boxes replace the item's (``[]``: nothing to box; ``null``: unlabeled);
    boxes that differ from the earlier ones (or the model's) mark the item ``fixed``."""
    from athanor.label.box_labels import set_boxes

    boxes = (
        [box.model_dump(by_alias=True, exclude_none=True) for box in body.boxes]
        if body.boxes is not None
        else None
    )
    return plain(set_boxes(context.store, name, [(item, boxes)], by=labeler(request)))


@router.post(
    "/{name}/labels",
    response_model=UpdatedOut,
    responses=errors(400, 404),
    summary="Label items (a person)",
)
def set_labels(name: ProjectName, body: LabelsIn, request: Request, context: Context) -> dict:
    """Each ``{id, label}`` sets the caller's label; a null label clears it."""
    from athanor.label.projects import label_items

    changes = [(entry.id, entry.label) for entry in body.items]
    return plain(label_items(context.store, name, changes, by=labeler(request)))


@router.post(
    "/{name}/accept",
    response_model=UpdatedOut,
    responses=errors(400, 404),
    summary="Accept pre-labels",
)
def accept(name: ProjectName, body: AcceptIn, request: Request, context: Context) -> dict:
    """Pre-labels of ``ids``, or all at ``min_confidence`` or above, become labels (source
    model, review accepted)."""
    from athanor.label.projects import accept as run_accept

    return plain(
        run_accept(
            context.store,
            name,
            ids=body.ids,
            min_confidence=body.min_confidence,
            by=labeler(request),
        )
    )


@router.post(
    "/{name}/review", response_model=UpdatedOut, responses=errors(400, 404), summary="Review"
)
def review(name: ProjectName, body: ReviewIn, request: Request, context: Context) -> dict:
    """``accepted`` keeps a label (or takes the pre-label), ``fixed`` sets the right label,
    ``rejected`` leaves the item out of published versions."""
    from athanor.label.projects import review as run_review

    changes = [(entry.id, entry.review, entry.label) for entry in body.items]
    return plain(run_review(context.store, name, changes, by=labeler(request)))


@router.post(
    "/{name}/prelabel",
    response_model=PrelabeledOut,
    responses=errors(400, 404),
    summary="Pre-label with a registered model",
)
def prelabel(name: ProjectName, body: PrelabelIn, context: Context) -> dict:
    """The model's answer, confidence and uncertainty for every item without a label."""
    from athanor.label.prelabel import prelabel as run_prelabel

    return plain(run_prelabel(context.store, name, body.model, min_score=body.min_score))


@router.post(
    "/{name}/train",
    status_code=202,
    response_model=TrainOut,
    responses=errors(400, 404),
    summary="Train from labels",
)
def train(name: ProjectName, body: TrainIn, request: Request, context: Context) -> dict:
    """Publish the labels and queue a job training on them (a classifier, or for a box
    project a CenterNet detector); when it succeeds, its model is registered and pre-labels
    the other items (``training`` of the project says where)."""
    store = context.store
    store.labeling.get_project(name)  # before the imports below: a 404 is quick
    from athanor.jobs.submission import submit
    from athanor.label.training import model_name, publish_for_training, record_training

    published, spec = publish_for_training(store, name, template=body.template, epochs=body.epochs)
    job = submit(
        store,
        context.job_machine,
        spec,
        origin=f"train from labels of {name}",
        submitted_by=principal(request),
    )
    model = model_name(name)
    record_training(
        store, name, job_id=job.id, status="queued", model=model, prelabeled=None, message=""
    )
    context.wake_scheduler()
    return {"job_id": job.id, "model": model, "dataset": published["dataset"]}


@router.post(
    "/{name}/publish",
    response_model=PublishOut,
    responses=errors(404, 413),
    summary="Publish the labels as a dataset version",
)
def publish_labels(name: ProjectName, context: Context) -> dict:
    """A content-hashed version named after the project, with lineage (any body, such as
    ``{}``, is ignored)."""
    from athanor.label.publish import publish

    return plain(publish(context.store, name))


@router.get(
    "/{name}/agreement",
    response_model=AgreementOut,
    responses=errors(404),
    summary="Agreement between labelers",
)
def agreement(
    name: ProjectName,
    context: Context,
    iou: Annotated[float, Query(ge=0.1, le=0.95)] = 0.5,
) -> dict:
    """On items two or more people labeled: percent agreement and Cohen's kappa for classes;
    for boxes, boxes matched at ``iou`` or more, their F1, mean IoU and class agreement. The
    least agreed items are listed first."""
    from athanor.label.agreement import agreement as report

    return plain(report(context.store, name, iou=iou))


@router.get(
    "/{name}/export",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}, "application/json": {}, "application/zip": {}}},
        **errors(400, 404),
    },
    summary="Export the labels",
)
def export(
    name: ProjectName,
    context: Context,
    format: Literal["csv", "labelstudio", "folders", "coco", "voc", "yolo"] = "csv",
) -> Response:
    """CSV (file,label or text,label), Label Studio JSON, or class folders (zip); a box
    project's COCO, VOC or YOLO (a zip with the images) or Label Studio JSON."""
    from athanor.label.formats import MEDIA_TYPES, SUFFIXES, export_labels

    content = export_labels(context.store, name, format)
    return Response(
        content,
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{name}-labels{SUFFIXES[format]}"'},
    )


@router.post(
    "/{name}/import",
    response_model=LabelsImportedOut,
    responses=errors(400, 404, 413),
    summary="Import labels",
)
async def import_labels(
    name: ProjectName,
    request: Request,
    context: Context,
    file: Annotated[
        UploadFile,
        File(description="A CSV or Label Studio JSON file; for boxes a COCO, VOC or YOLO zip."),
    ],
    format: Literal["csv", "labelstudio", "coco", "voc", "yolo"] = "csv",
) -> dict:
    """Labels from a CSV (file,label / text,label) or Label Studio JSON (annotations are
    the caller's labels, predictions pre-labels); a box project's boxes from a COCO, VOC or
    YOLO zip (as exported) or Label Studio rectangles."""
    from starlette.concurrency import run_in_threadpool

    from athanor.errors import PayloadTooLarge
    from athanor.label.formats import import_labels as run_import

    content = await file.read(MAX_LABELS_FILE + 1)
    if len(content) > MAX_LABELS_FILE:
        raise PayloadTooLarge(f"the labels file is over {MAX_LABELS_FILE // 2**20} MiB")
    result = await run_in_threadpool(
        run_import, context.store, name, format, content, by=labeler(request)
    )
    return plain(result)
