"""``athanor summary SPEC|MODEL``."""

from __future__ import annotations

from typing import Annotated

import typer

from athanor.cli.output import console, print_json
from athanor.errors import UserError

_NUMERIC = {"parameters", "MACs", "multiplications", "additions", "activations"}


def parse_input_shape(text: str) -> tuple[int, ...]:
    """``"10,3,224,224"`` (or ``10x3x224x224``) -> ``(10, 3, 224, 224)``.

    Raises:
        UserError: not a list of positive whole numbers.
    """
    parts = [
        part.strip()
        for part in text.replace("x", ",").replace("[", "").replace("]", "").split(",")
        if part.strip()
    ]
    if len(parts) < 2 or not all(part.isdigit() and int(part) > 0 for part in parts):
        raise UserError(
            f"--input {text}: give the batch size and a sample's sizes as whole numbers "
            "separated by commas, e.g. --input 10,3,224,224"
        )
    return tuple(int(part) for part in parts)


def summary(
    source: Annotated[
        str,
        typer.Argument(
            help="A spec YAML file or bundled example name, or a registered model NAME[@VERSION]."
        ),
    ],
    input_shape: Annotated[
        str | None,
        typer.Option(
            "--input",
            help="Input batch shape, batch first, e.g. 10,3,224,224 (default: one sample).",
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", "-s", help="Override a spec key: KEY.PATH=VALUE (repeatable)."),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Per layer: output shape, parameters, multiply-accumulates, multiplications, additions
    and activation memory, then the totals."""
    from athanor.api.networks import summarize

    shape = parse_input_shape(input_shape) if input_shape is not None else None
    result = summarize(source, shape, overrides=set_ or None)
    if json_output:
        print_json(result.to_json())
        return
    from rich.table import Table

    layers = Table(header_style="bold")
    for column in result.COLUMNS:
        numeric = column in _NUMERIC
        layers.add_column(
            column,
            justify="right" if numeric else "left",
            no_wrap=numeric or column in ("type", "output shape"),
            overflow="fold",
        )
    for row in result.rows():
        layers.add_row(*row)
    out = console
    if not console.is_terminal:
        from rich.console import Console

        # Into a pipe or file the table keeps its natural width, so no number is folded.
        out = Console(
            highlight=False,
            soft_wrap=True,
            width=console.measure(layers, options=console.options.update_width(1000)).maximum,
        )
    out.print(layers)
    for line in result.totals_lines():
        out.print(line)
