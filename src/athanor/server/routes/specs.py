"""``/v1/specs``: the run spec's JSON Schema, the bundled example specs, and a dry run of a
job's checks (the console's create-job form is built and checked from these)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Query

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
def check_spec(
    body: JobSubmit,
    context: Context,
    data: Annotated[
        bool,
        Query(
            description="Also load the dataset and one training batch (nothing is trained); "
            "false for the quick check an editor makes while the user types."
        ),
    ] = True,
) -> dict[str, Any]:
    """Every check a job submission makes (the spec, its dataset, the model name, the
    resources), and that its dataset can be loaded, without queueing anything: the problems,
    one per line and each with its key path and line (and the first as an error body with its
    code), or the spec with its defaults filled in."""
    from athanor.errors import DatasetNotFound, UserError
    from athanor.jobs.submission import check_dataset_loads, validate_job

    try:
        spec = validate_job(
            context.store, context.job_machine, body.spec, body.overrides, origin=body.filename
        )
        if data:
            check_dataset_loads(spec, context.store.settings)
    except DatasetNotFound as exc:  # its message names no key: the dataset is data.dataset's
        return _invalid(exc, default_path="data.dataset")
    except UserError as exc:
        return _invalid(exc)
    return {"valid": True, "problems": [], "issues": [], "spec": spec.model_dump(mode="json")}


# "spec.yaml:7: train.batch_size: must be ..." or "spec.yaml:4:1: invalid YAML: ..."
_PROBLEM = re.compile(
    r"^(?:(?P<origin>[^\s:][^:]*):(?P<line>\d+)(?::\d+)?: )?"
    r"(?:(?P<path>[A-Za-z_]\w*(?:\.\w+)*): )?(?P<message>.*)$"
)


def _invalid(error: Exception, default_path: str | None = None) -> dict[str, Any]:
    """A refused check: its problems as lines, each with its key path and line, and the
    error's body (code, params, field)."""
    from athanor.serve.error_responses import error_body

    problems = [line for line in str(error).splitlines() if line.strip()]
    issues = []
    for problem in problems:
        found = _PROBLEM.match(problem)
        assert found is not None  # every part of the pattern is optional
        line = found["line"]
        issues.append(
            {
                "message": found["message"],
                "path": found["path"] or default_path,
                "line": int(line) if line else None,
            }
        )
    return {"valid": False, "problems": problems, "issues": issues, "error": error_body(error)}


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
