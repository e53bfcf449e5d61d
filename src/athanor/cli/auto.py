"""``athanor auto DATASET``: a tuned, registered model for a dataset within a time budget."""

from __future__ import annotations

from typing import Annotated

import typer

from athanor.cli.output import console, duration, print_json, table


def auto(
    dataset: Annotated[
        str,
        typer.Argument(
            help="A catalog name, an imported NAME[@VERSION], or a CSV file, image folder or "
            "folder of images with boxes (YOLO, COCO, VOC) to import."
        ),
    ],
    target: Annotated[str | None, typer.Option(help="Target column of a table.")] = None,
    metric: Annotated[
        str | None,
        typer.Option(
            help="What to optimize: accuracy, f1_macro, rmse, mae, r2, map50, map... (validation)."
        ),
    ] = None,
    budget: Annotated[str, typer.Option(help="Time for everything: 10m, 90s, 1h.")] = "10m",
    register_as: Annotated[
        str | None, typer.Option("--register", help="Model name (default DATASET-auto).")
    ] = None,
    trials: Annotated[int | None, typer.Option(help="At most this many trials.")] = None,
    parallel: Annotated[int, typer.Option(help="Trials at once (worker processes).")] = 1,
    seed: Annotated[int, typer.Option(help="Seeds the split, networks and sampler.")] = 0,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Detect the task, try candidate networks within the budget, register the best model."""
    from athanor.tuning.automl import auto as run_auto

    result = run_auto(
        dataset,
        target=target,
        metric=metric,
        budget=budget,
        register_as=register_as,
        trials=trials,
        parallel=parallel,
        seed=seed,
        progress=not (quiet or json_output),
    )
    if json_output:
        print_json(result.report)
        return
    report = result.report
    winner = report["winner"]
    console.print(
        f"[bold]{result.detection.dataset}[/bold]: {result.detection.task}; "
        f"search {report['id']} ran {report['trials'].get('done', 0)} trials "
        f"({report['trials'].get('complete', 0)} complete, "
        f"{report['trials'].get('pruned', 0)} pruned)"
    )
    console.print(
        f"winner: trial {winner['trial']}, "
        + ", ".join(f"{k} {v:.4f}" for k, v in winner["validation"].items())
    )
    console.print(
        table(
            "test set (evaluated once, on the winner)",
            ["metric", "value"],
            [(name, f"{value:.4f}") for name, value in result.test_metrics.items()],
        )
    )
    console.print(
        table(
            "time",
            ["phase", "took"],
            [(phase["name"], duration(phase["seconds"])) for phase in report["phases"]]
            + [
                (
                    "total",
                    f"{duration(result.seconds)} of {duration(report['budget_total_seconds'])}",
                )
            ],
        )
    )
    for note in report.get("notes", []):
        console.print(f"  {note}")
    console.print(f"registered as [bold]{result.model_version.ref}[/bold]")
    console.print(f"report: {result.report_paths['markdown']}")
