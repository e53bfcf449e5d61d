"""The ``athanor`` command: global options, command registration, error handling."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from athanor import __version__
from athanor.cli.lazy_commands import LazyCommand, LazyGroup
from athanor.errors import UserError

# In the order `athanor --help` lists them; each module is imported when its command runs.
COMMANDS = {
    "quickstart": LazyCommand(
        "athanor.cli.quickstart:quickstart",
        "Train the MNIST CNN, register it, reload it and classify five test digits.",
    ),
    "train": LazyCommand(
        "athanor.cli.train:train",
        "Train a network as SPEC says; the run and its model are kept in the store.",
    ),
    "predict": LazyCommand(
        "athanor.cli.predict:predict",
        "Predict with a registered model: a table of results, or a file with --output.",
    ),
    "generate": LazyCommand(
        "athanor.cli.generate:generate",
        "Generate text with a language model (char_rnn) or images with a GAN (dcgan).",
    ),
    "doctor": LazyCommand(
        "athanor.cli.doctor:doctor",
        "Show Python and torch versions, devices with their measured matmul and convolution\n"
        "throughput, ATHANOR_HOME, the store's size and the free disk space.",
    ),
    "summary": LazyCommand(
        "athanor.cli.summary:summary",
        "Per layer: output shape, parameters, multiply-accumulates, multiplications, additions\n"
        "and activation memory, then the totals. Never downloads data.",
    ),
    "estimate": LazyCommand(
        "athanor.cli.estimate:estimate",
        "Per-step, per-epoch and total training time, peak memory and whether it fits, and\n"
        "the cost, on this machine (measured) and on catalog GPUs (estimated). Never downloads\n"
        "data. Exits with 1 when a device asked for (default: this machine) lacks the memory.",
    ),
    "serve": LazyCommand(
        "athanor.cli.serve:serve",
        "Serve registered models over HTTP: predict, health, readiness, metrics, OpenAPI docs.",
    ),
    "audit": LazyCommand(
        "athanor.cli.audit:audit",
        "List the audit trail: who changed what, and when (newest first).",
    ),
    "up": LazyCommand(
        "athanor.cli.platform:up",
        "Start the platform: REST API, scheduler and workers, on this machine's store.",
    ),
    "down": LazyCommand(
        "athanor.cli.platform:down",
        "Stop the platform: running jobs checkpoint and go back to the queue (they resume at\n"
        "the next 'athanor up').",
    ),
    "console": LazyCommand(
        "athanor.cli.platform:console_link",
        "Print a one-time link that opens the web console signed in (on the owner's machine).",
    ),
    "worker": LazyCommand(
        "athanor.cli.worker:worker",
        "Join a platform as a worker and run its queued jobs here until Ctrl-C.",
    ),
    "auto": LazyCommand(
        "athanor.cli.auto:auto",
        "Detect the task, try candidate networks within the budget, register the best model.",
    ),
    "runs": LazyCommand(
        "athanor.cli.runs:app", "Training runs: list, show, report, resume, delete, restore."
    ),
    "models": LazyCommand(
        "athanor.cli.models:app", "Registered models: versions, aliases, tags, export and import."
    ),
    "data": LazyCommand(
        "athanor.cli.data:app",
        "Datasets: the built-in catalog, imports of your own data, versions and previews.",
    ),
    "jobs": LazyCommand("athanor.cli.jobs:app", "Jobs on the platform: list, show, logs, cancel."),
    "token": LazyCommand("athanor.cli.tokens:app", "API tokens: create, list, revoke."),
    "users": LazyCommand(
        "athanor.cli.users:app",
        "Users and roles: viewer reads; editor also changes; admin also manages users.",
    ),
    "deployments": LazyCommand(
        "athanor.cli.deployments:app",
        "Deployments on the platform: serve registered models behind its API.",
    ),
    "tune": LazyCommand(
        "athanor.cli.tune:app",
        "Hyperparameter searches: athanor tune SPEC --trials N [--budget 10m] [--parallel K]; "
        "list, show, resume, register.",
    ),
    "label": LazyCommand(
        "athanor.cli.label:app",
        "Label images and texts: projects, pre-labels, review, formats, versions.",
    ),
}


class _Commands(LazyGroup):
    lazy = COMMANDS


app = typer.Typer(
    name="athanor",
    help="Athanor: datasets, networks, training, models and predictions on your own machine.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=_Commands,
)
_options = {"debug": False}


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"athanor {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Show the version."),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
) -> None:
    """Athanor: the one-stop deep-learning platform on your own machine."""
    _options["debug"] = debug


def main() -> None:
    """Entry point: user errors print one message each and exit 2 (``--debug``: traceback)."""
    from athanor.cli.output import errors
    from athanor.cli.pipes import guard_standard_streams

    guard_standard_streams()  # a reader that stops early (| head) must not stop the work
    try:
        app()
    except UserError as exc:
        if _options["debug"] or "--debug" in sys.argv:
            raise
        lines = str(exc).splitlines() or [type(exc).__name__]
        for line in lines:
            errors.print(f"[red]error:[/red] {escape(line)}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        errors.print("[yellow]interrupted[/yellow]")
        sys.exit(130)
