"""What a search found: the leaderboard, parameter importance, and its JSON/Markdown report."""

from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path
from typing import Any

from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from athanor.spec.tune import SearchDefinition, format_duration
from athanor.tuning import space
from athanor.tuning.study import SearchRecord, record_of, retried_numbers

_ORDER = {"complete": 0, "pruned": 1, "stopped": 1, "running": 2, "waiting": 3, "failed": 4}


def _state(trial: FrozenTrial, retried: set[int]) -> str:
    if trial.state == TrialState.FAIL and trial.number in retried:
        return "interrupted"
    if trial.state == TrialState.PRUNED and trial.user_attrs.get("outcome") == "stopped":
        return "stopped"
    return trial.state.name.lower()


def leaderboard(study: Study, definition: SearchDefinition) -> list[dict[str, Any]]:
    """Every trial, best first: completed trials by value, then pruned or stopped ones by
    their last reported value, then the rest."""
    trials = study.get_trials(deepcopy=False)
    retried = retried_numbers(trials)
    maximize = study.direction.name == "MAXIMIZE"
    rows = []
    for trial in trials:
        try:
            params = space.decode(definition.params, trial.params)
        except KeyError:
            params = dict(trial.params)
        value = trial.value if trial.values else None
        rows.append(
            {
                "trial": trial.number,
                "state": _state(trial, retried),
                "value": value,
                "epochs": trial.user_attrs.get("epochs", trial.last_step or 0),
                "seconds": trial.user_attrs.get("seconds"),
                "run_id": trial.user_attrs.get("run_id"),
                "params": params,
                "reason": trial.user_attrs.get("reason", ""),
                **(
                    {"retry_of": trial.system_attrs["failed_trial"]}
                    if "failed_trial" in trial.system_attrs
                    else {}
                ),
            }
        )

    def key(row: dict[str, Any]) -> tuple[Any, ...]:
        value = row["value"]
        score = math.inf if value is None or not math.isfinite(value) else value
        if maximize and score != math.inf:
            score = -score
        return (_ORDER.get(row["state"], 5), score, row["trial"])

    return sorted(rows, key=key)


def importance(study: Study) -> tuple[dict[str, float] | None, str]:
    """Each parameter's share of the variation of the metric over completed trials (Optuna's
    PED-ANOVA evaluator), or ``None`` and why not."""
    complete = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    if len(complete) < 3:
        return None, f"needs 3 completed trials ({len(complete)} so far)"
    import optuna

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = optuna.importance.get_param_importances(study)
    except (ValueError, RuntimeError, ZeroDivisionError) as exc:
        return None, f"not computable: {exc}"
    return {name: float(value) for name, value in values.items()}, ""


def search_report(study: Study, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The whole account of a search (what ``athanor tune show --json`` prints)."""
    record: SearchRecord = record_of(study)
    definition = SearchDefinition.from_json(record.definition)
    rows = leaderboard(study, definition)
    values, why = importance(study)
    best = record.best
    report: dict[str, Any] = {
        **record.to_json(),
        "space": [
            {"name": p.name, "kind": p.kind, "range": p.describe()} for p in definition.params
        ],
        "sampler": definition.tune.sampler.model_dump(mode="json"),
        "pruner": definition.tune.pruner.model_dump(mode="json"),
        "budget_seconds": definition.tune.budget,
        "stop_at": definition.tune.stop_at,
        "best": None
        if best is None
        else {
            "trial": best.number,
            "value": best.value,
            "run_id": best.user_attrs.get("run_id"),
            "params": space.decode(definition.params, best.params),
        },
        "importance": values,
        "importance_note": why,
        "leaderboard": rows,
        "spec": definition.base,
        "test_metrics": record.attrs.get("test_metrics"),
    }
    report.update(extra or record.attrs.get("auto_report") or {})
    return report


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|")


def render_markdown(report: dict[str, Any], *, top: int = 20) -> str:
    """The report as Markdown: summary, best trial, importance, leaderboard."""
    trials = report["trials"]
    lines = [
        f"# Search {report['id']}: {report['name']}",
        "",
        f"- kind: {report['kind']}; status: {report['status']}"
        + (f" ({report['reason']})" if report.get("reason") else ""),
        f"- metric: `{report['metric']}` ({report['direction']})"
        + (f"; stops at {report['stop_at']:g}" if report.get("stop_at") is not None else ""),
        f"- trials: {trials.get('done', 0)} done of {trials['target']} "
        f"({trials.get('complete', 0)} complete, {trials.get('pruned', 0)} pruned, "
        f"{trials.get('fail', 0)} failed)",
        f"- sampler: {report['sampler']['type']}; pruner: {report['pruner']['type']}",
        f"- time spent: {format_duration(report['seconds'])}"
        + (
            f" (budget {format_duration(report['budget_seconds'])} per invocation)"
            if report.get("budget_seconds")
            else ""
        ),
    ]
    if report.get("task"):
        lines.append(f"- task: {report['task']} (dataset `{report.get('dataset')}`)")
    if report.get("total_seconds") is not None:
        within = "within" if report.get("within_budget") else "over"
        lines.append(
            f"- total: {format_duration(report['total_seconds'])} of "
            f"{format_duration(report['budget_total_seconds'])} ({within} budget)"
        )
    for note in report.get("notes", []):
        lines.append(f"- {note}")
    if report.get("candidates"):
        lines += ["", "## Candidates", ""] + [f"- {c}" for c in report["candidates"]]
    best = report.get("best")
    lines += ["", "## Best trial", ""]
    if best is None:
        lines.append("No trial completed.")
    else:
        lines.append(
            f"Trial {best['trial']} (run {best['run_id']}): {report['metric']} = "
            f"{_cell(best['value'])}"
        )
        lines += [""] + [
            f"- `{name}`: `{space.short(value, 80)}`" for name, value in best["params"].items()
        ]
    if report.get("test_metrics"):
        lines += ["", "## Test set (evaluated once, on the chosen model)", ""]
        lines += ["| metric | value |", "|---|---|"]
        lines += [f"| {k} | {_cell(v)} |" for k, v in report["test_metrics"].items()]
    if report.get("model"):
        lines += ["", f"Registered as `{report['model']}`."]
    lines += ["", "## Parameter importance", ""]
    if report.get("importance"):
        lines += ["| parameter | importance |", "|---|---|"]
        lines += [f"| `{k}` | {v:.3f} |" for k, v in report["importance"].items()]
    else:
        lines.append(f"Not available: {report.get('importance_note', '')}.")
    names = [entry["name"] for entry in report["space"]]
    lines += ["", "## Leaderboard", ""]
    lines.append("| trial | state | value | epochs | seconds | run | " + " | ".join(names) + " |")
    lines.append("|" + "---|" * (6 + len(names)))
    for row in report["leaderboard"][:top]:
        cells = [
            row["trial"],
            row["state"],
            row["value"],
            row["epochs"],
            row["seconds"],
            row["run_id"],
            *(space.short(row["params"].get(name), 30) for name in names),
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    hidden = len(report["leaderboard"]) - top
    if hidden > 0:
        lines.append(f"\n{hidden} more trial(s) in report.json.")
    for phase in report.get("phases", []):
        if phase is report.get("phases", [])[0]:
            lines += ["", "## Time", "", "| phase | seconds |", "|---|---|"]
        lines.append(f"| {phase['name']} | {phase['seconds']:.1f} |")
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str) -> None:
    """Replace ``path`` in one rename, so that readers never see half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def write_report(report: dict[str, Any], folder: Path) -> dict[str, Path]:
    """Write ``report.json`` and ``report.md`` into ``folder``."""
    paths = {"json": folder / "report.json", "markdown": folder / "report.md"}
    _write(paths["json"], json.dumps(report, indent=2, default=str) + "\n")
    _write(paths["markdown"], render_markdown(report))
    return paths
