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
    if not parts or not all(part.isdigit() and int(part) > 0 for part in parts):
        raise UserError(
            f"--input {text}: give the batch size and a sample's sizes as whole numbers "
            "separated by commas, e.g. --input 10,3,224,224 (without the batch: one sample)"
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
            help="Input batch shape, batch first, e.g. 10,3,224,224; without the batch "
            "(3,224,224) a batch of one. Needed for a spec with only model: (no data:), "
            "whose layers are summarized exactly, with no output layer added. Default: one "
            "sample of the data.",
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", "-s", help="Override a spec key: KEY.PATH=VALUE (repeatable)."),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Per layer: output shape, parameters, multiply-accumulates, multiplications, additions
    and activation memory, then the totals. Never downloads data."""
    from athanor.api.networks import summarize

    shape = parse_input_shape(input_shape) if input_shape is not None else None
    result = summarize(source, shape, overrides=set_ or None)
    if json_output:
        print_json(result.to_json())
        return
    from rich.console import Console

    from athanor.cli.output import table

    layers = table(None, result.COLUMNS, result.rows(), numeric=_NUMERIC)
    out = console
    if not console.is_terminal:
        # Into a pipe or file the table keeps its natural width, so no number is folded.
        out = Console(highlight=False, soft_wrap=True, width=10_000)
    out.print(layers)
    for line in result.totals_lines():
        out.print(line)
