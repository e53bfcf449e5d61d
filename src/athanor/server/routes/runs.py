"""``/v1/runs``: every run (foreground or job) with its spec, summary and metrics."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import FileResponse, HTMLResponse

from athanor.errors import NotFound
from athanor.runs.evaluation_files import example_image, read_evaluation
from athanor.runs.records import run_folder
from athanor.runs.recovery import reconcile_orphans
from athanor.server.json_safe import plain
from athanor.server.routes import MAX_ID, Context, RunId, errors
from athanor.server.schemas import (
    EvaluationOut,
    MetricPointOut,
    MetricSeriesOut,
    RunDependentsOut,
    RunDetailOut,
    RunOut,
    RunPageOut,
    Status,
)
from athanor.store import RunRecord

router = APIRouter(prefix="/v1/runs", tags=["runs"])

ARCHIVED = Annotated[
    bool, Query(description="Archived (deleted, restorable) runs instead of the others.")
]


def run_view(record: RunRecord, is_job: bool) -> dict:
    data = record.to_json()
    data.pop("spec")
    return {**plain(data), "job": is_job}


@router.get("", response_model=list[RunOut], summary="List runs")
def list_runs(
    context: Context,
    status: Annotated[Status | None, Query(description="Only runs in this status.")] = None,
    name: Annotated[str | None, Query(max_length=100, description="Only runs so named.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    archived: ARCHIVED = False,
) -> list[dict]:
    """Runs, newest first; a run whose process died is marked so first."""
    store = context.store
    reconcile_orphans(store)
    records = store.runs.list(
        limit=limit, offset=offset, status=status, name=name, archived=archived
    )
    return [run_view(record, store.jobs.exists(record.id)) for record in records]


@router.get("/page", response_model=RunPageOut, summary="A page of runs")
def page_runs(
    context: Context,
    status: Annotated[Status | None, Query(description="Only runs in this status.")] = None,
    search: Annotated[
        str | None, Query(max_length=100, description="Only runs whose name contains this.")
    ] = None,
    dataset: Annotated[
        str | None, Query(max_length=200, description="Only runs on this dataset.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 25,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    archived: ARCHIVED = False,
) -> dict:
    """Runs, newest first, one page at a time, with how many match the filters in all."""
    store = context.store
    reconcile_orphans(store)
    filters = {"status": status, "search": search, "dataset": dataset, "archived": archived}
    records = store.runs.list(limit=limit, offset=offset, **filters)
    jobs = store.jobs.among(record.id for record in records)
    return {
        "items": [run_view(record, record.id in jobs) for record in records],
        "total": store.runs.count(**filters),
        "limit": limit,
        "offset": offset,
    }


@router.get("/{run_id}", response_model=RunDetailOut, responses=errors(404), summary="Show a run")
def get_run(run_id: RunId, context: Context) -> dict:
    """A run with its spec (also as YAML), summary (final metrics, sizes, timings) and
    artifact folder."""
    import yaml

    store = context.store
    record = store.runs.get(run_id)
    spec = plain(record.spec)
    return {
        **run_view(record, store.jobs.exists(run_id)),
        "spec": spec,
        "spec_yaml": yaml.safe_dump(spec, sort_keys=False, allow_unicode=True),
        "artifacts": str(store.artifacts.run_dir(run_id)),
    }


@router.get(
    "/{run_id}/dependents",
    response_model=RunDependentsOut,
    responses=errors(404),
    summary="What depends on a run",
)
def get_run_dependents(run_id: RunId, context: Context) -> dict:
    """The model versions registered from the run (deleting the run leaves them registered),
    for a confirmation that says so."""
    from athanor.runs.archive import run_dependents

    return run_dependents(context.store, run_id).to_json()


@router.delete(
    # An int path, so that '/v1/runs/page' is not a run to delete (its Allow: GET only).
    "/{run_id:int}",
    status_code=204,
    response_class=Response,
    responses=errors(404, 405, 409),
    summary="Delete (archive) a run",
)
def delete_run(
    run_id: RunId,
    context: Context,
    purge: Annotated[
        bool,
        Query(description="Delete an archived run for good: its record, metrics and files."),
    ] = False,
) -> Response:
    """Move a finished run (or job) into the archive: lists hide it, ``POST
    /v1/runs/{run_id}/restore`` brings it back, and the model versions it registered stay.
    A queued or running one is refused (409: cancel it first). With ``purge``, an archived
    run is removed for good (409 when it is not archived)."""
    from athanor.runs.archive import archive_run, purge_run

    if purge:
        purge_run(context.store, run_id)
    else:
        archive_run(context.store, run_id)
    return Response(status_code=204)


@router.post(
    "/{run_id}/restore",
    response_model=RunOut,
    responses=errors(404),
    summary="Restore an archived run",
)
def restore_run(run_id: RunId, context: Context) -> dict:
    """Bring an archived run (or job) back into the lists."""
    from athanor.runs.archive import restore_run as restore

    store = context.store
    return run_view(restore(store, run_id), store.jobs.exists(run_id))


@router.get(
    "/{run_id}/metrics",
    response_model=dict[str, list[MetricPointOut]],
    responses=errors(404),
    summary="A run's metrics",
)
def get_run_metrics(
    run_id: RunId,
    context: Context,
    names: Annotated[
        str | None, Query(max_length=2000, description="Comma-separated metric names.")
    ] = None,
    after_step: Annotated[
        int, Query(ge=-1, le=MAX_ID, description="Only points after this step (live charts).")
    ] = -1,
) -> dict:
    """Every logged value by metric name, in step order; written while the run trains."""
    store = context.store
    store.runs.get(run_id)
    wanted = [n.strip() for n in names.split(",") if n.strip()] if names else None
    series = store.runs.metrics(run_id, wanted)
    return {
        name: [
            {
                "step": p.step,
                "epoch": p.epoch,
                "value": plain(p.value),
                "recorded_at": p.recorded_at,
            }
            for p in points
            if p.step > after_step
        ]
        for name, points in series.items()
    }


@router.get(
    "/{run_id}/series",
    response_model=dict[str, MetricSeriesOut],
    responses=errors(404),
    summary="A run's metrics, thinned for charts",
)
def get_run_series(
    run_id: RunId,
    context: Context,
    names: Annotated[
        str | None, Query(max_length=2000, description="Comma-separated metric names.")
    ] = None,
    points: Annotated[int, Query(ge=4, le=20_000, description="The most points per metric.")] = 600,
    after_step: Annotated[
        int, Query(ge=-1, le=MAX_ID, description="Only points after this step (live charts).")
    ] = -1,
) -> dict:
    """Each metric as columns (steps, epochs, values, recording times), thinned on the server
    to at most ``points`` points that keep every bucket's lowest and highest value; ``total``
    says how many points are stored. A live chart asks again with ``after_step`` = its last
    step."""
    import numpy as np

    from athanor.server.downsampling import min_max_buckets

    store = context.store
    store.runs.get(run_id)
    wanted = [n.strip() for n in names.split(",") if n.strip()] if names else None
    result = {}
    for name, (steps, epochs, values, recorded) in store.runs.metric_series(
        run_id, wanted, after_step=after_step
    ).items():
        numbers = np.array([math.nan if v is None else v for v in values], dtype=np.float64)
        numbers[~np.isfinite(numbers)] = np.nan
        keep = min_max_buckets(np.asarray(steps), numbers, points)
        result[name] = {
            "name": name,
            "total": len(steps),
            "last_step": steps[-1],
            "steps": [steps[i] for i in keep],
            "epochs": [epochs[i] for i in keep],
            "values": [None if math.isnan(numbers[i]) else float(numbers[i]) for i in keep],
            "times": [round(float(recorded[i]), 3) for i in keep],
        }
    return result


def _no_evaluation(run_id: int) -> NotFound:
    return NotFound(
        f"run {run_id} has no evaluation: it was trained before evaluations were kept, was not "
        "tested (a search's trial), or its task has none (only classification and regression)"
    )


@router.get(
    "/{run_id}/evaluation",
    response_model=EvaluationOut,
    response_model_exclude_none=False,
    responses=errors(404),
    summary="A run's evaluation on its test split",
)
def get_run_evaluation(run_id: RunId, context: Context) -> dict:
    """Classification: confusion matrix, per-class precision/recall/F1/support, ROC and PR
    curves for two classes, the most confidently wrong test samples. Regression:
    predicted-vs-actual points, a residual histogram, error by decile of the actual value.
    Detection: COCO mAP@[.5:.95], mAP@0.5, mAP@0.75 and the AP of each class. 404 when the
    run has none."""
    store = context.store
    store.runs.get(run_id)
    evaluation = read_evaluation(run_folder(store, run_id))
    if evaluation is None:
        raise _no_evaluation(run_id)
    if evaluation.get("task") == "detection":
        # A detector's per-class scores are APs, not precision and recall: their own field.
        evaluation = {**evaluation, "class_ap": evaluation.get("per_class")}
        evaluation.pop("per_class", None)
    return plain(evaluation)


@router.get(
    "/{run_id}/evaluation/examples/{rank}.png",
    response_class=FileResponse,
    responses={
        200: {"description": "The PNG.", "content": {"image/png": {"schema": {"type": "string"}}}},
        **errors(404),
    },
    summary="The image of a wrong test sample",
)
def get_run_wrong_example(
    run_id: RunId,
    rank: Annotated[int, Path(ge=0, le=1000, description="Its rank among the wrong examples.")],
    context: Context,
) -> FileResponse:
    """The image of the ``rank``-th most confidently wrong test sample (image datasets)."""
    store = context.store
    store.runs.get(run_id)
    path = example_image(run_folder(store, run_id), rank)
    if path is None:
        if read_evaluation(store.artifacts.run_dir(run_id)) is None:
            raise _no_evaluation(run_id)
        raise NotFound(f"run {run_id} has no image for wrong example {rank}")
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "max-age=3600"})


@router.get(
    "/{run_id}/report",
    # not HTMLResponse: that would document the 404's JSON answer as HTML too
    response_class=Response,
    responses={
        200: {
            "description": "The report.",
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
        **errors(404),
    },
    summary="A run's HTML report",
)
def get_run_report(run_id: RunId, context: Context) -> HTMLResponse:
    """The self-contained HTML report of ``athanor runs report`` (figures inline)."""
    from athanor.runs.records import show
    from athanor.runs.report import render_report

    store = context.store
    data = show(run_id, settings=store.settings)
    run_dir = run_folder(store, run_id)
    html = render_report(data, data.get("evaluation"), run_dir)
    return HTMLResponse(
        html,
        headers={"Content-Disposition": f'inline; filename="run-{run_id}.html"'},
    )
