"""``/v1/runs``: every run (foreground or job) with its spec, summary and metrics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from athanor.server.json_safe import plain
from athanor.server.routes import MAX_ID, Context, RunId, errors
from athanor.server.schemas import MetricPointOut, RunDetailOut, RunOut, Status
from athanor.store import RunRecord

router = APIRouter(prefix="/v1/runs", tags=["runs"])


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
) -> list[dict]:
    """Runs, newest first; a run whose process died is marked so first."""
    store = context.store
    store.runs.reconcile_orphans()
    records = store.runs.list(limit=limit, offset=offset, status=status, name=name)
    return [run_view(record, store.jobs.exists(record.id)) for record in records]


@router.get("/{run_id}", response_model=RunDetailOut, responses=errors(404), summary="Show a run")
def get_run(run_id: RunId, context: Context) -> dict:
    """A run with its spec, summary (final metrics, sizes, timings) and artifact folder."""
    store = context.store
    record = store.runs.get(run_id)
    return {
        **run_view(record, store.jobs.exists(run_id)),
        "spec": plain(record.spec),
        "artifacts": str(store.artifacts.run_dir(run_id)),
    }


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
