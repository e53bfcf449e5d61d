"""``athanor deployments list|create|stop|start|delete``: models served by the running platform."""

from __future__ import annotations

from typing import Annotated

import typer

from athanor.cli.output import console, print_json, styled_status, table

app = typer.Typer(
    help="Deployments on the platform: serve registered models behind its API.",
    no_args_is_help=True,
)


def client():
    from athanor.server.client import PlatformClient

    return PlatformClient()


@app.command("list")
def list_deployments(
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List deployments: what each serves, its status and its predict path."""
    deployments = client().call("list_deployments")
    if json_output:
        print_json(deployments)
        return
    if not deployments:
        console.print("no deployments: 'athanor deployments create NAME MODEL' serves a model")
        return
    console.print(
        table(
            None,
            ["name", "model", "status", "serving", "predict"],
            [
                (
                    d["name"],
                    d["model"],
                    styled_status(d["status"]),
                    ", ".join(s["ref"] for s in d["serving"]) or d["status_reason"],
                    d["predict_path"],
                )
                for d in deployments
            ],
        )
    )


@app.command("create")
def create_deployment(
    name: Annotated[str, typer.Argument(help="The deployment's name.")],
    model: Annotated[str, typer.Argument(help="NAME, NAME@VERSION or NAME@ALIAS.")],
    max_batch_size: Annotated[int, typer.Option(help="Most samples per forward pass.")] = 64,
    max_wait_ms: Annotated[
        float, typer.Option(help="How long a batch that is not full waits for more requests.")
    ] = 2.0,
    device: Annotated[str, typer.Option(help="cpu, cuda, cuda:N, mps or auto.")] = "cpu",
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Serve a registered model from the platform (again after each restart)."""
    deployment = client().call(
        "create_deployment",
        body={
            "name": name,
            "model": model,
            "config": {
                "max_batch_size": max_batch_size,
                "max_wait_ms": max_wait_ms,
                "device": device,
            },
        },
    )
    if json_output:
        print_json(deployment)
        return
    console.print(
        f"deployment {deployment['name']} {deployment['status_reason']}; predict with "
        f"POST {deployment['predict_path']}"
    )


@app.command("delete")
def delete_deployment(name: Annotated[str, typer.Argument(help="The deployment's name.")]) -> None:
    """Stop serving a deployment and forget it; the model stays registered."""
    client().call("delete_deployment", name=name)
    console.print(f"deployment {name} stopped")


@app.command("stop")
def stop_deployment(name: Annotated[str, typer.Argument(help="The deployment's name.")]) -> None:
    """Stop serving a deployment and keep it, stopped, to start again or delete."""
    deployment = client().call("stop_deployment", name=name)
    console.print(
        f"deployment {name} {deployment['status']}: 'deployments start {name}' serves it again"
    )


@app.command("start")
def start_deployment(name: Annotated[str, typer.Argument(help="The deployment's name.")]) -> None:
    """Serve a stopped deployment again."""
    deployment = client().call("start_deployment", name=name)
    console.print(f"deployment {name} {deployment['status_reason']}")
