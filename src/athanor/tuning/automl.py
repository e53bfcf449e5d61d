"""``athanor auto DATASET``: detect the problem, search a recipe within a budget, register
the best model with a report.

The budget is split in advance: a few seconds for detection, most of it for the search
(trials ranked on validation metrics, bad ones pruned), and a reserve for the end: retraining
the winner on all the data when trials saw a subset (only if its measured time fits), then
the one and only evaluation on the test split, registration and the report.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from athanor.errors import SpecError, UserError
from athanor.settings import Settings, current_settings
from athanor.spec.tune import format_duration, load_search, parse_duration
from athanor.store import ModelVersionRecord
from athanor.training.callbacks.base import Callback
from athanor.tuning.detect import Detection, detect
from athanor.tuning.progress import SearchProgress
from athanor.tuning.recipes import Recipe, default_metric, recipe_for
from athanor.tuning.search import SearchResult, finish_search, run_search

MIN_SEARCH_SECONDS = 5.0
"""A budget that leaves less than this for the search is refused up front."""
MAX_TRIALS = 200


@dataclass
class AutoResult:
    """What ``auto`` did: the problem, the search, the winner's test metrics and model."""

    detection: Detection
    search: SearchResult
    model_version: ModelVersionRecord
    run_id: int
    test_metrics: dict[str, float]
    seconds: float
    report: dict[str, Any]
    report_paths: dict[str, Path] = field(default_factory=dict)


class _Deadline(Callback):
    """Stops a run (with a checkpoint) when the budget's end is reached."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.hit = False

    def on_after_optimizer_step(self, trainer, state) -> None:
        if not self.hit and time.time() >= self.deadline:
            self.hit = True
            trainer.request_stop("stopped: the time budget ran out")


def model_name(dataset: str) -> str:
    """``"houses@3"`` -> ``"houses-auto"``: the default registered name."""
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", dataset.split("@")[0]).strip("-.") or "dataset"
    return f"{base[:90]}-auto"


def _metric(metric: str | None, detection: Detection) -> str:
    if metric is None:
        return default_metric(detection)
    from pydantic_core import PydanticCustomError

    from athanor.spec.tune import check_tune_metric

    name = metric if metric.startswith("val_") else f"val_{metric}"
    try:
        return check_tune_metric(name)
    except PydanticCustomError as exc:
        raise SpecError(f"--metric {metric}: {exc.message()}") from None


def auto(
    dataset: str | Path,
    *,
    target: str | None = None,
    metric: str | None = None,
    budget: str | float = "10m",
    register_as: str | None = None,
    trials: int | None = None,
    parallel: int = 1,
    seed: int = 0,
    progress: bool = True,
    console: Console | None = None,
    settings: Settings | None = None,
) -> AutoResult:
    """Train, tune and register a model for ``dataset`` within ``budget``.

    Args:
        dataset: a catalog name, an imported ``NAME[@VERSION]``, or a file or folder to import
            (a CSV table, a time-series CSV, a folder of class subfolders of images, a
            detection folder of images with YOLO, COCO or VOC boxes).
        target: the target column of a table (default the dataset's own).
        metric: what to optimize, e.g. ``accuracy``, ``f1_macro``, ``rmse``, ``mae``, ``map50``
            (default accuracy for classification, map50 for object detection, rmse
            otherwise); measured on the validation split.
        budget: wall-clock time for everything, e.g. ``"10m"`` or seconds (default 10 min).
        register_as: the model's name (default ``<dataset>-auto``).
        trials: at most this many trials (default: as many as the budget allows).
        parallel: trials at once, each in a worker process.
        seed: seeds the split, the networks and the sampler.
        progress: show progress with ETA on standard error.
        console: where progress goes.
        settings: store locations (default: the environment).

    Returns:
        The detection, the search, the registered version, the winner's test metrics (the
        test split evaluated once, for the winner only), the time spent and the report.

    Raises:
        UserError: a problem auto does not handle (saying what to do), a budget too short,
            or no trial finishing within the budget.
    """
    started = time.time()
    seconds = parse_duration(budget)
    settings = settings or current_settings()
    display = SearchProgress(console, enabled=progress)
    if register_as:
        from athanor.registry.registry import check_model_name

        check_model_name(register_as)
    detection = detect(dataset, target, settings)
    name = register_as or model_name(detection.dataset)
    chosen = _metric(metric, detection)
    recipe = recipe_for(detection, budget=seconds, metric=chosen, seed=seed, settings=settings)
    display.note(
        f"auto: {detection.dataset} is {detection.task} ({detection.samples:,} "
        f"{'steps' if detection.task.startswith('time') else 'samples'}"
        + (f", {len(detection.classes)} classes" if detection.classes else "")
        + f"); optimizing {chosen} within {format_duration(seconds)}"
    )
    if recipe.weights:
        recipe.notes.append(recipe.weights)
    for note in detection.notes + recipe.notes:
        display.note(f"  {note}")
    detect_seconds = time.time() - started
    reserve = max(3.0, 0.08 * seconds) + (0.3 * seconds if recipe.trial_subset else 0.0)
    search_budget = seconds - detect_seconds - reserve
    if search_budget < MIN_SEARCH_SECONDS:
        raise UserError(
            f"--budget {format_duration(seconds)} is too short for {detection.dataset}: "
            f"loading took {detect_seconds:.0f}s and the search needs at least "
            f"{MIN_SEARCH_SECONDS:.0f}s; give at least "
            f"{format_duration(seconds - search_budget + 2 * MIN_SEARCH_SECONDS)}"
        )
    tune = {
        **recipe.tune,
        "trials": min(trials or MAX_TRIALS, MAX_TRIALS),
        "budget": search_budget,
        "parallel": parallel,
    }
    definition = load_search({**recipe.spec, "tune": tune})
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", detection.dataset).strip("-.")
    search = run_search(
        definition,
        settings=settings,
        kind="auto",
        name=f"auto-{base}-{definition.fingerprint()[:8]}",
        display=display,
        budget_ends=True,
    )
    search_seconds = time.time() - started - detect_seconds
    from athanor.tuning.study import load_search_study

    study = load_search_study(search.id, settings)
    best = search.record.best
    if best is None:
        raise UserError(
            f"no trial finished within the budget ({format_duration(search_budget)} for the "
            f"search); see 'athanor tune show {search.id}' and give a longer --budget"
        )
    notes = list(detection.notes) + list(recipe.notes)
    run_id, retrain_seconds = int(best.user_attrs["run_id"]), 0.0
    winner_params = search.report["best"]["params"]
    if recipe.trial_subset:
        run_id, retrain_seconds = _retrain(
            definition,
            recipe,
            winner_params,
            best,
            started,
            seconds,
            run_id,
            notes,
            display,
            settings,
        )
    display.note(f"auto: testing the chosen model (run {run_id}) once on the test split")
    from athanor.runs import test_run

    end_started = time.time()
    tested = test_run(
        run_id,
        register_as=name,
        description=f"auto: best of search {search.id} on {detection.dataset}",
        settings=settings,
    )
    assert tested.model_version is not None
    total = time.time() - started
    extra = {
        "task": detection.task,
        "dataset": detection.dataset,
        "detection": detection.to_json(),
        "candidates": recipe.candidates,
        "notes": notes,
        "budget_total_seconds": seconds,
        "total_seconds": round(total, 1),
        "within_budget": total <= seconds,
        "winner": {
            "trial": best.number,
            "run_id": run_id,
            "params": winner_params,
            "validation": {search.record.metric: best.value},
            "test_metrics": tested.test_metrics,
            "retrained_on_all_data": run_id != int(best.user_attrs["run_id"]),
        },
        "phases": [
            {"name": "detect and load", "seconds": round(detect_seconds, 1)},
            {"name": "search", "seconds": round(search_seconds, 1)},
            *(
                [{"name": "retrain on all data", "seconds": round(retrain_seconds, 1)}]
                if retrain_seconds
                else []
            ),
            {"name": "test and register", "seconds": round(time.time() - end_started, 1)},
        ],
    }
    study.set_user_attr("auto_report", extra)
    study.set_user_attr("test_metrics", tested.test_metrics)
    study.set_user_attr("model", tested.model_version.ref)
    final = finish_search(study, settings, extra=extra)
    display.note(
        f"auto: registered {tested.model_version.ref}; "
        + ", ".join(f"{k} {v:.4f}" for k, v in tested.test_metrics.items())
        + f"; {format_duration(total)} of {format_duration(seconds)}"
    )
    return AutoResult(
        detection,
        final,
        tested.model_version,
        run_id,
        tested.test_metrics,
        total,
        final.report,
        final.report_paths,
    )


def _retrain(
    definition: Any,
    recipe: Recipe,
    params: dict[str, Any],
    best: Any,
    started: float,
    budget: float,
    run_id: int,
    notes: list[str],
    display: SearchProgress,
    settings: Settings,
) -> tuple[int, float]:
    """Train the winner on all training data when its measured trial time says it fits.

    Returns:
        The run to test (the retrained one, or the trial's when there was no time) and the
        seconds spent retraining.
    """
    from athanor.runs import train
    from athanor.store import RunStatus

    assert recipe.trial_subset is not None
    full = definition.fill(params)
    data = full["data"]
    samples = int(data.get("subset", {}).get("train", recipe.trial_subset))
    total = _train_size(data, settings) or samples
    scale = total / max(1, samples)
    trial_seconds = float(best.user_attrs.get("seconds") or 0.0)
    estimate = trial_seconds * scale * 1.15
    end_reserve = max(3.0, 0.08 * budget)
    remaining = budget - (time.time() - started) - end_reserve
    if estimate > remaining:
        notes.append(
            f"the winner was not retrained on all {total:,} training samples: that would take "
            f"about {format_duration(estimate)}, and {format_duration(max(0, remaining))} was "
            f"left; the registered model was trained on {samples:,}"
        )
        return run_id, 0.0
    data.pop("subset", None)
    full.pop("tune", None)
    full["name"] = "auto-final"
    display.note(
        f"auto: retraining the winner on all {total:,} training samples "
        f"(about {format_duration(estimate)})"
    )
    began = time.time()
    deadline = _Deadline(started + budget - end_reserve)
    result = train(
        full,
        progress=False,
        callbacks=[deadline],
        settings=settings,
        evaluate_test=False,
    )
    spent = time.time() - began
    if result.run.status != RunStatus.SUCCEEDED:
        notes.append(
            f"retraining on all data ran out of time after {format_duration(spent)} (run "
            f"{result.id}); the registered model is the trial's, trained on {samples:,}"
        )
        return run_id, spent
    notes.append(f"the winner was retrained on all {total:,} training samples (run {result.id})")
    return result.id, spent


def _train_size(data: dict[str, Any], settings: Settings) -> int | None:
    """Training samples of the winner's data without a subset (the split, not the test)."""
    from athanor.data.prepare import load_raw
    from athanor.data.splits import resolve_size

    raw = load_raw(data["dataset"], settings)
    total = len(raw)
    split = data.get("split", {})
    val = resolve_size(split.get("val", 0.1), total, "val")
    test = 0 if raw.has_official_test else resolve_size(split.get("test", 0.2), total, "test")
    return total - val - test
