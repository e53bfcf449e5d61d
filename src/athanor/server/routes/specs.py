"""``/v1/specs``: the run spec's JSON Schema, the bundled example specs, and a dry run of a
job's checks (the console's create-job form is built and checked from these)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fastapi import APIRouter

from athanor.server.routes import Context, errors
from athanor.server.schemas import (
    EstimateOut,
    EstimateRequest,
    ExampleSpecOut,
    JobSubmit,
    SpecCheckOut,
)

router = APIRouter(prefix="/v1/specs", tags=["specs"])


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    from athanor.spec.run import RunSpec

    return RunSpec.model_json_schema()


@router.get("/schema", response_model=dict[str, Any], summary="The run spec's JSON Schema")
def spec_schema() -> dict[str, Any]:
    """Every key of a run spec with its type, default, limits and description."""
    return _schema()


def _title(text: str) -> str:
    """The first comment line of an example: what it trains and how well."""
    for line in text.splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
        if line.strip():
            break
    return ""


@lru_cache(maxsize=1)
def _examples() -> list[dict[str, Any]]:
    from athanor.spec.examples import EXAMPLES_DIR, list_examples
    from athanor.spec.loading import load_yaml_text

    found = []
    for name in list_examples(searches=False):  # a search spec is not a job
        text = (EXAMPLES_DIR / f"{name}.yaml").read_text(encoding="utf-8")
        data = load_yaml_text(text, f"{name}.yaml") or {}
        model = data.get("model") or {}
        found.append(
            {
                "name": name,
                "title": _title(text),
                "dataset": str((data.get("data") or {}).get("dataset", "")),
                "model": str(model.get("template") or "layers"),
                "yaml": text,
            }
        )
    return found


@router.get("/examples", response_model=list[ExampleSpecOut], summary="Example specs")
def example_specs() -> list[dict[str, Any]]:
    """The bundled example specs (templates for new jobs), with their YAML text."""
    return _examples()


@router.post(
    "/check",
    response_model=SpecCheckOut,
    responses=errors(400),
    summary="Check a job without queueing it",
)
def check_spec(body: JobSubmit, context: Context) -> dict[str, Any]:
    """Every check a job submission makes (the spec, its dataset, the model name, the
    resources), without queueing anything: the problems, one per line, or the spec with its
    defaults filled in."""
    from athanor.errors import UserError
    from athanor.jobs.submission import validate_job
    from athanor.serve.error_responses import error_body

    try:
        spec = validate_job(
            context.store, context.job_machine, body.spec, body.overrides, origin=body.filename
        )
    except UserError as exc:
        problems = [line for line in str(exc).splitlines() if line]
        return {"valid": False, "problems": problems, "error": error_body(exc)}
    return {"valid": True, "problems": [], "spec": spec.model_dump(mode="json")}


@router.post(
    "/estimate",
    response_model=EstimateOut,
    responses=errors(400, 404, 413),
    summary="Estimate a spec's training time, memory and cost",
)
def estimate_spec(body: EstimateRequest, context: Context) -> dict[str, Any]:
    """Time a few training steps of the spec on this machine and estimate, per device, the
    step, epoch and total time, the peak memory and whether it fits, and the cost at the
    price table's offerings. The dataset must be on the server (it is never downloaded)."""
    from athanor.api.estimates import estimate
    from athanor.spec.loading import load_yaml_text

    spec = body.spec
    if isinstance(spec, str):
        spec = load_yaml_text(spec, body.filename) or {}
    result = estimate(
        spec,
        body.devices or None,
        epochs=body.epochs,
        overrides=body.overrides or None,
        steps=3,
        settings=context.store.settings,
    )
    return result.to_json()
