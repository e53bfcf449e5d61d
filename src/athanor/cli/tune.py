"""``athanor tune SPEC`` and ``athanor tune list|show|resume|register``."""

from __future__ import annotations

import math
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from athanor.cli.output import console, duration, errors, print_json, styled_status, table

_COMMANDS = ("run", "list", "show", "resume", "register")


class _RunByDefault(TyperGroup):
    """``athanor tune SPEC ...`` means ``athanor tune run SPEC ...``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


WhereOption = Annotated[
    bool | None,
    typer.Option(
        "--platform/--local",
        help="Run trials as jobs of the platform (the default when one is running), "
        "or here, in this process or worker processes.",
    ),
]

ExecutorOption = Annotated[
    str | None,
    typer.Option(
        "--executor",
        help="Where trials run: local (this process, or worker processes with --parallel), "
        "ray (Ray tasks on a cluster, --parallel of them in flight) or platform (its jobs).",
    ),
]
RayAddressOption = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        help="The Ray cluster of --executor ray: auto (default), HOST:PORT, ray://HOST:PORT "
        "or local.",
    ),
]

app = typer.Typer(
    cls=_RunByDefault,
    help="Hyperparameter searches: athanor tune SPEC --trials N [--budget 10m] [--parallel K]; "
    "list, show, resume, register.",
    no_args_is_help=True,
)


@app.command("run")
def run(
    spec: Annotated[str, typer.Argument(help="A spec YAML with search markers (and tune:).")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", "-s", help="Override a key: KEY.PATH=VALUE (repeatable)."),
    ] = None,
    trials: Annotated[int | None, typer.Option(help="Trials in the search.")] = None,
    budget: Annotated[
        str | None, typer.Option(help="Time limit of this invocation: 10m, 90s, 1h30m.")
    ] = None,
    parallel: Annotated[
        int | None, typer.Option(help="Trials at once, each in a worker process.")
    ] = None,
    sampler: Annotated[str | None, typer.Option(help="tpe, random, grid or cmaes.")] = None,
    pruner: Annotated[str | None, typer.Option(help="asha, median, hyperband or none.")] = None,
    metric: Annotated[
        str | None, typer.Option(help="Validation metric to rank by, e.g. val_accuracy.")
    ] = None,
    stop_at: Annotated[
        float | None,
        typer.Option(
            "--stop-at",
            help="End the search once a trial reaches this metric value (e.g. 0.99 for "
            "val_accuracy; at or below it for losses and errors).",
        ),
    ] = None,
    register_as: Annotated[
        str | None,
        typer.Option("--register", help="Test the best trial once and register it as NAME."),
    ] = None,
    new: Annotated[
        bool, typer.Option("--new", help="Start a new search even if this one exists.")
    ] = False,
    where: WhereOption = None,
    executor: ExecutorOption = None,
    ray_address: RayAddressOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Search the marked values of SPEC; running it again continues the search."""
    from athanor.tuning.search import tune

    result = tune(
        spec,
        set_ or [],
        trials=trials,
        budget=budget,
        parallel=parallel,
        sampler=sampler,
        pruner=pruner,
        metric=metric,
        stop_at=stop_at,
        register_as=register_as,
        new=new,
        progress=not (quiet or json_output),
        **trial_executor(where, executor, ray_address),
    )
    show_report(result.report, json_output, paths=result.report_paths)


@app.command("list")
def list_searches(
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List searches, newest first."""
    from athanor.settings import current_settings
    from athanor.tuning.study import list_records

    records = list_records(current_settings())
    if json_output:
        print_json([record.to_json() for record in records])
        return
    if not records:
        console.print("no searches yet: try 'athanor tune SPEC --trials 20' or 'athanor auto'")
        return
    console.print(
        table(
            None,
            ["id", "name", "kind", "status", "trials", "best", "took", "reason"],
            [
                (
                    r.id,
                    r.name,
                    r.kind,
                    styled_status(r.status),
                    f"{r.done}/{r.trials_target}",
                    "" if r.best is None else f"{r.metric} {r.best.value:.4f}",
                    duration(r.seconds),
                    r.reason[:50] + ("..." if len(r.reason) > 50 else ""),
                )
                for r in records
            ],
        )
    )


@app.command("show")
def show(
    search: Annotated[str, typer.Argument(help="The search's id or name (athanor tune list).")],
    top: Annotated[int, typer.Option(help="Trials shown in the leaderboard.")] = 10,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Show a search: status, best trial, parameter importance and the leaderboard."""
    from athanor.api.searches import show as report_of

    show_report(report_of(search), json_output, top=top)


@app.command("resume")
def resume(
    search: Annotated[str, typer.Argument(help="The search's id or name.")],
    trials: Annotated[int | None, typer.Option(help="Raise the number of trials.")] = None,
    budget: Annotated[str | None, typer.Option(help="Time limit of this invocation.")] = None,
    parallel: Annotated[int | None, typer.Option(help="Trials at once.")] = None,
    stop_at: Annotated[
        float | None,
        typer.Option("--stop-at", help="End the search once a trial reaches this value."),
    ] = None,
    register_as: Annotated[
        str | None, typer.Option("--register", help="Register the best trial as NAME.")
    ] = None,
    where: WhereOption = None,
    executor: ExecutorOption = None,
    ray_address: RayAddressOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Continue a search (interrupted trials run again from their checkpoints)."""
    from athanor.tuning.search import resume_search

    result = resume_search(
        search,
        trials=trials,
        budget=budget,
        parallel=parallel,
        stop_at=stop_at,
        register_as=register_as,
        progress=not (quiet or json_output),
        **trial_executor(where, executor, ray_address),
    )
    show_report(result.report, json_output, paths=result.report_paths)


def trial_executor(
    where: bool | None, executor: str | None, ray_address: str | None
) -> dict[str, Any]:
    """The search's ``platform``, ``executor`` and ``ray_address`` arguments from the
    options: ``--executor platform`` is ``--platform``, ``--executor local`` is ``--local``,
    ``--executor ray`` looks for no platform.

    Raises:
        typer.BadParameter: contradicting options.
    """
    if executor is None:
        return {"platform": platform_client(where), "ray_address": ray_address}
    if executor not in ("local", "platform", "ray"):
        raise typer.BadParameter(
            f"'{executor}' is not an executor; valid: local, platform, ray",
            param_hint="--executor",
        )
    if executor == "platform":
        if where is False:
            raise typer.BadParameter("--executor platform contradicts --local")
        if ray_address is not None:
            raise typer.BadParameter("only for --executor ray", param_hint="--ray-address")
        return {"platform": platform_client(True), "ray_address": ray_address}
    if where:
        raise typer.BadParameter(f"--executor {executor} contradicts --platform")
    return {"executor": executor, "ray_address": ray_address}


def platform_client(where: bool | None) -> Any:
    """The platform's client when trials go there: ``--platform`` requires a running
    platform; by default one is used when it answers; ``--local`` never."""
    if where is False:
        return None
    from athanor.server.client import PlatformClient, PlatformUnavailable

    try:
        client = PlatformClient()
        client.call("health")
    except PlatformUnavailable:
        if where:
            raise
        return None
    errors.print(f"trials run as jobs of the platform at {client.url}", style="dim")
    return client


@app.command("register")
def register(
    search: Annotated[str, typer.Argument(help="The search's id or name.")],
    name: Annotated[str, typer.Argument(help="The model's name.")],
    json_output: Annotated[bool, typer.Option("--json", help="Print the version as JSON.")] = False,
) -> None:
    """Test the best trial's model once on the test split and register it as NAME."""
    from athanor.settings import current_settings
    from athanor.tuning.search import finish_search
    from athanor.tuning.study import load_search_study

    settings = current_settings()
    result = finish_search(load_search_study(search, settings), settings, register_as=name)
    if json_output:
        print_json({"model": result.model_version, "test_metrics": result.test_metrics})
        return
    assert result.model_version is not None
    console.print(
        f"registered [bold]{result.model_version.ref}[/bold] (run "
        f"{result.model_version.run_id}): "
        + ", ".join(f"{k} {v:.4f}" for k, v in result.test_metrics.items())
    )


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if math.isfinite(value) else str(value)
    return "" if value is None else str(value)


def show_report(
    report: dict[str, Any], json_output: bool, *, top: int = 10, paths: dict | None = None
) -> None:
    """Print a search report: summary, best trial, importance, leaderboard."""
    from athanor.tuning.space import short

    if json_output:
        print_json(report)
        return
    trials = report["trials"]
    console.print(
        f"[bold]search {report['id']}[/bold] {report['name']} ({report['kind']})  "
        f"{styled_status(report['status'])}"
        + (f": {report['reason']}" if report.get("reason") else "")
    )
    console.print(
        f"  {trials.get('done', 0)} of {trials['target']} trials done: "
        f"{trials.get('complete', 0)} complete, {trials.get('pruned', 0)} pruned, "
        f"{trials.get('fail', 0)} failed; sampler {report['sampler']['type']}, pruner "
        f"{report['pruner']['type']}; {duration(report['seconds'])} spent"
    )
    best = report.get("best")
    if best is not None:
        console.print(
            f"  best: trial {best['trial']} (run {best['run_id']}) {report['metric']} "
            f"{_value(best['value'])}"
        )
        for name, value in best["params"].items():
            console.print(f"    {name} = {short(value, 70)}")
    if report.get("test_metrics"):
        console.print(
            "  test set (once, chosen model): "
            + ", ".join(f"{k} {v:.4f}" for k, v in report["test_metrics"].items())
        )
    if report.get("model"):
        console.print(f"  registered as [bold]{report['model']}[/bold]")
    if report.get("importance"):
        console.print(
            table(
                "parameter importance",
                ["parameter", "importance"],
                [(name, f"{value:.3f}") for name, value in report["importance"].items()],
            )
        )
    names = [entry["name"] for entry in report["space"]]
    rows = report["leaderboard"][:top]
    if rows:
        console.print(
            table(
                f"leaderboard ({report['metric']}, {report['direction']})",
                ["trial", "state", "value", "epochs", "s", *[n.rsplit(".", 1)[-1] for n in names]],
                [
                    (
                        row["trial"],
                        styled_status(row["state"]),
                        _value(row["value"]),
                        row["epochs"],
                        "" if row["seconds"] is None else f"{row['seconds']:.1f}",
                        *(short(row["params"].get(n), 24) for n in names),
                    )
                    for row in rows
                ],
            )
        )
    if paths:
        console.print(f"  report: {paths['markdown']} (and {paths['json'].name})")
