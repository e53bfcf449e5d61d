"""The ``athanor`` command: global options, command registration, error handling."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from athanor import __version__
from athanor.cli import audit as audit_command
from athanor.cli import auto as auto_command
from athanor.cli import data, doctor, generate, models, predict, quickstart, runs, serve, train
from athanor.cli import deployments as deployment_commands
from athanor.cli import estimate as estimate_command
from athanor.cli import jobs as job_commands
from athanor.cli import label as label_commands
from athanor.cli import platform as platform_commands
from athanor.cli import summary as summary_command
from athanor.cli import tokens as token_commands
from athanor.cli import tune as tune_command
from athanor.cli import users as user_commands
from athanor.cli import worker as worker_command
from athanor.cli.output import errors
from athanor.errors import UserError

app = typer.Typer(
    name="athanor",
    help="Athanor: datasets, networks, training, models and predictions on your own machine.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
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


app.command("quickstart")(quickstart.quickstart)
app.command("train")(train.train)
app.command("predict")(predict.predict)
app.command("generate")(generate.generate)
app.command("doctor")(doctor.doctor)
app.command("summary")(summary_command.summary)
app.command("estimate")(estimate_command.estimate)
app.command("serve")(serve.serve)
app.command("audit")(audit_command.audit)
app.add_typer(runs.app, name="runs")
app.add_typer(models.app, name="models")
app.add_typer(data.app, name="data")
app.command("up")(platform_commands.up)
app.command("down")(platform_commands.down)
app.command("console")(platform_commands.console_link)
app.command("worker")(worker_command.worker)
app.add_typer(job_commands.app, name="jobs")
app.add_typer(token_commands.app, name="token")
app.add_typer(user_commands.app, name="users")
app.add_typer(deployment_commands.app, name="deployments")
app.add_typer(tune_command.app, name="tune")
app.add_typer(label_commands.app, name="label")
app.command("auto")(auto_command.auto)


def main() -> None:
    """Entry point: user errors print one message each and exit 2 (``--debug``: traceback)."""
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
