"""``athanor models list|show``."""

from __future__ import annotations

from typing import Annotated

import typer

from athanor.cli.output import ago, console, print_json, table

app = typer.Typer(help="Registered models: list them, show a version.", no_args_is_help=True)


@app.command("list")
def list_models(
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List registered models with their number of versions."""
    from athanor.api import models

    records = models.list()
    if json_output:
        print_json([record.to_json() for record in records])
        return
    if not records:
        console.print("no models registered yet: try 'athanor quickstart'")
        return
    console.print(
        table(
            None,
            ["name", "versions", "latest", "created"],
            [(r.name, r.versions, f"{r.name}@{r.latest}", ago(r.created_at)) for r in records],
        )
    )


@app.command("show")
def show_model(
    ref: Annotated[str, typer.Argument(help="NAME or NAME@VERSION (default: newest).")],
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a model version: metrics, inputs, classes, lineage and package location."""
    from athanor.api import models

    data = models.show(ref)
    if json_output:
        print_json(data)
        return
    schema = data["schema"]
    console.print(f"[bold]{data['ref']}[/bold]  created {data['created_at']}")
    console.print(
        f"  task: {schema['task']}   input: {schema['input']['kind']} "
        f"{schema['input']['shape']}   parameters: {data['parameters']:,}"
    )
    if schema.get("classes"):
        console.print(f"  classes: {', '.join(schema['classes'])}")
    lineage = data["lineage"]
    console.print(
        f"  from run {lineage.get('run_id')} on dataset {lineage.get('dataset')} "
        f"(seed {data['spec'].get('seed')}, torch {lineage.get('torch')})"
    )
    console.print(
        table(
            "metrics",
            ["metric", "value"],
            [(n, f"{v:.4f}") for n, v in sorted(data["metrics"].items())],
        )
    )
    console.print(f"  package: {data['package_path']}")
    console.print(f"  content hash: {data['content_hash']}")
