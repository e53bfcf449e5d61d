"""``athanor data catalog``."""

from __future__ import annotations

from typing import Annotated

import typer

from athanor.cli.output import console, print_json, table

app = typer.Typer(help="Datasets: the built-in catalog.", no_args_is_help=True)


@app.command("catalog")
def show_catalog(
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the built-in datasets with their task, size, license and source."""
    from athanor.api import datasets

    entries = datasets.catalog()
    if json_output:
        print_json([entry.to_json() for entry in entries])
        return
    console.print(
        table(
            None,
            ["name", "task", "kind", "size", "license", "source"],
            [(e.name, e.task, e.kind, e.size, e.license, e.source) for e in entries],
        )
    )
