"""``athanor worker``: run a platform's jobs on this machine (team mode)."""

from __future__ import annotations

import dataclasses
import os
import socket
from typing import Annotated

import typer

from athanor.cli.output import console


def worker(
    platform: Annotated[
        str,
        typer.Option(
            "--platform",
            help="The platform's URL, e.g. http://athanor.lab:8765.",
            envvar="ATHANOR_URL",
        ),
    ],
    token: Annotated[
        str,
        typer.Option(
            "--token",
            help="An admin's API token (the answer carries the database's credentials).",
            envvar="ATHANOR_TOKEN",
        ),
    ],
    name: Annotated[
        str | None,
        typer.Option(help="This machine's name in the team (default: its host name)."),
    ] = None,
    gpus: Annotated[
        str, typer.Option(help="GPUs to offer: auto, none, or indices such as 0,1.")
    ] = "auto",
    cpus: Annotated[
        int | None, typer.Option(help="CPU slots to offer (default: all CPUs).", min=1)
    ] = None,
    memory_gb: Annotated[
        float | None, typer.Option(help="Memory to offer, in GB (default: all of it).")
    ] = None,
    warm_workers: Annotated[
        int, typer.Option(help="Workers kept ready for the next job (0 or 1).", min=0, max=1)
    ] = 1,
    heartbeat_timeout: Annotated[
        float,
        typer.Option(
            help="Seconds of silence after which a job's worker, here or on a lost machine "
            "of the team, is taken for dead.",
            min=1.0,
        ),
    ] = 30.0,
) -> None:
    """Join a platform as a worker and run its queued jobs here until Ctrl-C.

    The platform must run in team mode (a PostgreSQL database and an S3-compatible bucket);
    this machine then works on them directly, with its own ATHANOR_HOME as a cache.
    """
    from athanor.jobs.machine import detect_machine
    from athanor.jobs.team_worker import run_worker
    from athanor.server.client import PlatformClient
    from athanor.server.platform_file import PlatformLock
    from athanor.settings import current_settings
    from athanor.store.lease import HOST_NAME_VARIABLE

    name = name or os.environ.get(HOST_NAME_VARIABLE) or socket.gethostname()
    machine = detect_machine(gpus, cpus, memory_gb)
    client = PlatformClient(platform, token=token)
    joined = client.call(
        "join_worker", body={"name": name, "gpus": len(machine.gpus), "cpus": machine.cpus}
    )
    # This process and the job workers it starts work on the platform's store, under the
    # name the team knows this machine by; object storage settings of this machine win.
    os.environ[HOST_NAME_VARIABLE] = joined["name"]
    os.environ["ATHANOR_DB_URL"] = joined["db_url"]
    os.environ["ATHANOR_ARTIFACTS_URL"] = joined["artifacts_url"]
    if joined.get("tune_db_url"):
        os.environ["ATHANOR_TUNE_DB_URL"] = joined["tune_db_url"]
    else:
        console.print(
            "[yellow]note:[/yellow] the platform sets no ATHANOR_TUNE_DB_URL: searches that "
            "run here keep their trials in this machine's tuning.db"
        )
    for variable, value in joined.get("environment", {}).items():
        os.environ.setdefault(variable, value)
    settings = current_settings()
    with PlatformLock(settings):
        run_worker(
            dataclasses.replace(machine, host=joined["name"]),
            settings,
            platform_url=client.url,
            warm_workers=warm_workers,
            heartbeat_timeout=heartbeat_timeout,
        )
