"""``athanor runs list|show|report|resume|delete|restore``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from athanor.cli.evaluation import print_evaluation
from athanor.cli.output import ago, console, duration, print_json, styled_status, table

app = typer.Typer(
    help="Training runs: list, show, report, resume, delete, restore.", no_args_is_help=True
)

_HEADLINE = ("test_accuracy", "test_rmse", "val_accuracy", "val_rmse", "val_loss")


def _headline(metrics: dict[str, float]) -> str:
    for name in _HEADLINE:
        if name in metrics:
            return f"{name} {metrics[name]:.4f}"
    return ""


def device_hours_text(summary: dict[str, Any]) -> str:
    """``cpu 0.0123 h, CNY 0.00`` from a run's summary; empty before it finished."""
    if "device_hours" not in summary:
        return ""
    cost = summary.get("cost") or {}
    amount = cost.get("amount", 0.0)
    money = f"{amount:.2f}" if amount >= 0.01 or amount == 0 else f"{amount:.1g}"
    return (
        f"{summary.get('device', '?')} {summary['device_hours']:.4f} h, "
        f"{cost.get('currency', '')} {money}"
        + (" (own hardware)" if not cost.get("price_per_hour") else "")
    )


@app.command("list")
def list_runs(
    limit: Annotated[int, typer.Option(help="How many runs, newest first.")] = 20,
    status: Annotated[str | None, typer.Option(help="Only runs in this status.")] = None,
    archived: Annotated[
        bool, typer.Option("--archived", help="Archived (deleted, restorable) runs instead.")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List runs, newest first."""
    from athanor.api import runs

    records = runs.list(limit=limit, status=status, archived=archived)
    if json_output:
        print_json([record.to_json() for record in records])
        return
    if not records:
        console.print("no runs yet: try 'athanor train mnist-cnn' or 'athanor quickstart'")
        return
    console.print(
        table(
            None,
            ["id", "name", "status", "dataset", "created", "took", "device", "result", "reason"],
            [
                (
                    r.id,
                    r.name,
                    styled_status(r.status),
                    r.dataset,
                    ago(r.created_at),
                    duration(r.duration_s),
                    device_hours_text(r.summary),
                    _headline(r.summary.get("metrics", {})),
                    r.status_reason[:60] + ("..." if len(r.status_reason) > 60 else ""),
                )
                for r in records
            ],
        )
    )


@app.command("show")
def show_run(
    run_id: Annotated[int, typer.Argument(help="The run's id (see 'athanor runs list').")],
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a run: status, reason, per-epoch metrics, test metrics and where it is stored."""
    from athanor.api import runs

    data = runs.show(run_id)
    if json_output:
        print_json(data)
        return
    summary = data["summary"]
    console.print(f"[bold]run {data['id']}[/bold] {data['name']}  {styled_status(data['status'])}")
    if data["status_reason"]:
        console.print(f"  reason: {data['status_reason']}")
    console.print(
        f"  dataset: {data['dataset']}   created: {data['created_at']}   took: "
        f"{duration(data['duration_s'])}"
    )
    if "parameters" in summary:
        counts = summary["parameters"]
        console.print(
            f"  parameters: {counts['trainable']:,} trainable"
            + (f", {counts['frozen']:,} frozen" if counts.get("frozen") else "")
            + f" on {summary.get('device', '?')}"
        )
    if "device_hours" in summary:
        console.print(f"  device: {device_hours_text(summary)}")
    if summary.get("parent"):
        console.print(f"  initialized from: {summary['parent']} (train.init_from)")
    for warning in (summary.get("data") or {}).get("warnings", []):
        console.print(f"  warning: {warning}", markup=False)
    metrics = data["metrics"]
    epoch_names = [n for n in metrics if n.startswith(("train_", "val_"))]
    if epoch_names:
        by_epoch: dict[int, dict[str, float]] = {}
        for name in epoch_names:
            for point in metrics[name]:
                by_epoch.setdefault(point["epoch"], {})[name] = point["value"]
        console.print(
            table(
                "per epoch",
                ["epoch", *epoch_names],
                [
                    (epoch, *(f"{values.get(n, float('nan')):.4f}" for n in epoch_names))
                    for epoch, values in sorted(by_epoch.items())
                ],
            )
        )
    tests = {n: p[-1]["value"] for n, p in metrics.items() if n.startswith("test_")}
    if tests:
        console.print(
            table("test set", ["metric", "value"], [(n, f"{v:.4f}") for n, v in tests.items()])
        )
    print_evaluation(data.get("evaluation"), data["id"])
    if summary.get("registered_as"):
        console.print(f"  registered as {summary['registered_as']}")
    console.print(f"  artifacts: {data['artifacts']}")


@app.command("report")
def report_run(
    run_id: Annotated[int, typer.Argument(help="The run's id (see 'athanor runs list').")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="The HTML file to write (default run-ID.html)."),
    ] = None,
) -> None:
    """Write a self-contained HTML report of a run: learning curves, test metrics, confusion
    matrix, per-class scores, ROC/PR curves and wrong examples, or residuals for regression."""
    from athanor.api import runs

    path = runs.report(run_id, output or Path(f"run-{run_id}.html"))
    console.print(f"wrote {path} ({path.stat().st_size / 1024:,.0f} KiB); open it in a browser")


@app.command("resume")
def resume_run(
    run_id: Annotated[int, typer.Argument(help="A stopped, cancelled or crashed run.")],
    json_output: Annotated[bool, typer.Option("--json", help="Print the run as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Continue a run from its latest checkpoint, exactly where it stopped."""
    from athanor.cli.train import report
    from athanor.runs import resume

    report(resume(run_id, progress=not (quiet or json_output)), json_output)


@app.command("delete")
def delete_run(
    run_id: Annotated[int, typer.Argument(help="A finished run or job (see 'athanor runs list').")],
    purge: Annotated[
        bool, typer.Option("--purge", help="Remove an archived run for good (record and files).")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a finished run into the archive ('runs restore' brings it back).

    With --purge an archived run is removed for good. The model versions it registered
    stay. A queued or running job is refused: cancel it first.
    """
    from athanor.api import runs

    found = runs.dependents(run_id)
    if found.model_versions:
        console.print(
            f"run {run_id} registered {', '.join(found.model_versions)}: "
            "the version(s) stay registered",
            markup=False,
        )
    what = "remove run {id} for good" if purge else "archive run {id}"
    if not yes:
        typer.confirm(what.format(id=run_id) + "?", abort=True)
    runs.delete(run_id, purge=purge)
    if purge:
        console.print(f"run {run_id} removed for good")
    else:
        console.print(f"run {run_id} archived; 'athanor runs restore {run_id}' brings it back")


@app.command("restore")
def restore_run(
    run_id: Annotated[int, typer.Argument(help="An archived run ('runs list --archived').")],
) -> None:
    """Bring an archived run back into the lists."""
    from athanor.api import runs

    runs.restore(run_id)
    console.print(f"run {run_id} restored")
