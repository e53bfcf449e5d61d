"""``athanor train SPEC``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from athanor.cli.output import console, print_json, styled_status, table


def train(
    spec: Annotated[str, typer.Argument(help="A spec YAML file, or a bundled example name.")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", "-s", help="Override a key: KEY.PATH=VALUE (repeatable)."),
    ] = None,
    register_as: Annotated[
        str | None, typer.Option("--register", help="Register the model under this name.")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the run as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    detach: Annotated[
        bool,
        typer.Option(
            "--detach", "-d", help="Submit it as a job to the running platform and return."
        ),
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Train data-parallel in N processes (job.resources.workers).",
        ),
    ] = None,
    gpus: Annotated[
        str | None,
        typer.Option(
            "--gpus",
            help="Train on these GPUs of this machine, one process each (e.g. 0,1).",
        ),
    ] = None,
) -> None:
    """Train a network as SPEC says; the run and its model are kept in the store.

    With --detach the run is queued as a job on the platform ('athanor up'), which trains
    it when its resources (the spec's job section) are free. --workers N trains with N
    data-parallel processes (DDP: gloo on CPUs, NCCL with --gpus), each on its share of
    every batch of train.batch_size samples.
    """
    overrides = list(set_ or [])
    if gpus is not None:
        overrides += _use_gpus(gpus, workers, detach)
    elif workers is not None:
        overrides.append(f"job.resources.workers={workers}")
    if detach:
        registered = [f"register_as={register_as}"] if register_as else []
        submit_job(spec, [*overrides, *registered], json_output)
        return
    from athanor.runs import train as run_training

    result = run_training(
        spec, overrides, register_as=register_as, progress=not (quiet or json_output)
    )
    report(result, json_output)


def _use_gpus(gpus: str, workers: int | None, detach: bool) -> list[str]:
    """Show only ``gpus`` (``0,1``) to the run's processes, one rank each; the overrides."""
    from athanor.errors import UserError

    if detach:
        raise UserError(
            "--gpus: a job's GPUs are the platform's to choose; set job.resources.gpus "
            "and job.resources.workers instead"
        )
    try:
        chosen = [int(part) for part in gpus.split(",") if part.strip()]
    except ValueError:
        chosen = []
    if not chosen or len(set(chosen)) != len(chosen) or min(chosen) < 0:
        raise UserError(f"--gpus {gpus}: valid: distinct GPU indices separated by commas (0,1)")
    if workers is not None and workers != len(chosen):
        raise UserError(f"--workers {workers} with --gpus {gpus}: one worker per GPU")
    # before CUDA starts: the ranks see these GPUs as cuda:0, cuda:1, ...
    os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(str(g) for g in chosen)
    import torch

    if torch.cuda.device_count() < len(chosen):  # counted among the GPUs just chosen
        raise UserError(
            f"--gpus {gpus}: {torch.cuda.device_count()} of these GPUs exist on this machine; "
            "--workers N trains on CPUs"
        )
    return [f"job.resources.workers={len(chosen)}", "train.device=cuda"]


def report(result, json_output: bool) -> None:
    """Print how a run ended: status, reason, test metrics, package and version."""
    if json_output:
        print_json(
            {
                "run": result.run.to_json(),
                "test_metrics": result.test_metrics,
                "package": str(result.package_dir) if result.package_dir else None,
                "model": result.model_version.to_json() if result.model_version else None,
                "samples": result.fit.reports.get("samples", []),
            }
        )
        return
    run = result.run
    console.print(
        f"run {run.id} {styled_status(run.status)}: {run.status_reason} "
        f"in {result.fit.seconds:.1f}s ({result.fit.samples_per_second:,.0f} samples/s)"
    )
    if result.test_metrics:
        console.print(
            table(
                "test set (never seen in training)",
                ["metric", "value"],
                [(name, f"{value:.4f}") for name, value in result.test_metrics.items()],
            )
        )
        loss = (run.summary or {}).get("loss")
        if loss and " on the standardized " in loss:
            console.print(f"test_loss is the {loss}", highlight=False)
    grids = result.fit.reports.get("samples") or []
    if grids:
        # A GAN's grids of generated images, one per sampled epoch: where to look at them.
        console.print(
            f"sample grids: {Path(grids[-1]).parent} ({len(grids)} file(s), latest "
            f"{Path(grids[-1]).name})"
        )
    if result.package_dir is not None:
        console.print(f"model package: {result.package_dir}")
    if result.model_version is not None:
        console.print(f"registered as [bold]{result.model_version.ref}[/bold]")


def submit_job(spec: str, overrides: list[str], json_output: bool = False) -> None:
    """Send a spec file (or bundled example) to the platform as a job; print where it is."""

    from athanor.errors import SpecError
    from athanor.server.client import PlatformClient
    from athanor.spec.examples import resolve_spec_path

    path = resolve_spec_path(spec)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no such spec file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read the spec ({exc})") from None
    job = PlatformClient().submit_job(text, filename=str(path), overrides=overrides)
    if json_output:
        print_json(job)
        return
    where = f"#{job['queue_position']} in queue" if job.get("queue_position") else job["reason"]
    console.print(
        f"job {job['id']} {styled_status(job['status'])} ({where}); follow it with "
        f"'athanor jobs logs -f {job['id']}'"
    )
