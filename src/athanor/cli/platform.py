"""``athanor up`` and ``athanor down``: start and stop the platform."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Annotated

import typer

from athanor.cli.output import console, errors
from athanor.errors import UserError


def up(
    host: Annotated[
        str, typer.Option(help="Interface to listen on (0.0.0.0: every one).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: any free one).", min=0, max=65535)] = 8765,
    gpus: Annotated[
        str, typer.Option(help="GPUs to schedule: auto, none, or indices such as 0,1.")
    ] = "auto",
    cpus: Annotated[
        int | None, typer.Option(help="CPU slots to share among jobs (default: all CPUs).", min=1)
    ] = None,
    memory_gb: Annotated[
        float | None, typer.Option(help="Memory to share, in GB (default: all of it).")
    ] = None,
    warm_workers: Annotated[
        int, typer.Option(help="Workers kept ready for the next job (0 or 1).", min=0, max=1)
    ] = 1,
    max_upload_mb: Annotated[
        int, typer.Option(help="Most megabytes one upload may hold.", min=1)
    ] = 2048,
    detach: Annotated[
        bool, typer.Option("--detach", "-d", help="Run in the background and return.")
    ] = False,
    import_root: Annotated[
        list[str] | None,
        typer.Option(
            help="A folder whose files the console may import by path (repeatable; default: "
            "only ATHANOR_DATA_MIRROR)."
        ),
    ] = None,
    allowed_hosts: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-hosts",
            help="Another name clients reach this platform by, e.g. its DNS name (repeatable; "
            "loopback names and the --host address are always allowed).",
        ),
    ] = None,
    no_auth: Annotated[
        bool,
        typer.Option(
            "--no-auth",
            help="Let any program on this machine call without a credential (unsafe on shared "
            "machines; clients beyond it still need tokens).",
        ),
    ] = False,
    no_local_jobs: Annotated[
        bool,
        typer.Option(
            "--no-local-jobs",
            help="Run no jobs on this machine: they wait for workers that join with "
            "'athanor worker' (team mode).",
        ),
    ] = False,
    executor: Annotated[
        str,
        typer.Option(
            help="Where job workers run: local (processes of this machine) or ray (a Ray "
            "cluster, whose total resources replace --gpus, --cpus and --memory-gb; needs "
            "'athanor[ray]').",
        ),
    ] = "local",
    ray_address: Annotated[
        str,
        typer.Option(
            help="The Ray cluster of --executor ray: local (started by the platform), auto, "
            "HOST:PORT of its head node, or ray://HOST:PORT.",
        ),
    ] = "local",
) -> None:
    """Start the platform: REST API, scheduler and workers, on this machine's store."""
    options = [
        "--host",
        host,
        "--port",
        str(port),
        "--gpus",
        gpus,
        "--warm-workers",
        str(warm_workers),
        "--max-upload-mb",
        str(max_upload_mb),
        *(["--cpus", str(cpus)] if cpus else []),
        *(["--memory-gb", str(memory_gb)] if memory_gb else []),
        *[part for root in import_root or [] for part in ("--import-root", root)],
        *[part for name in allowed_hosts or [] for part in ("--allowed-hosts", name)],
        *(["--no-auth"] if no_auth else []),
        *(["--no-local-jobs"] if no_local_jobs else []),
        *(["--executor", executor, "--ray-address", ray_address] if executor != "local" else []),
    ]
    if host not in ("127.0.0.1", "localhost", "::1"):
        errors.print(
            f"[yellow]note:[/yellow] listening on {host}: clients beyond this machine need a "
            "token ('athanor token create NAME'); add '--allowed-hosts NAME' for each name "
            "they reach it by"
        )
    if detach:
        _start_detached(options)
        return
    from athanor.server.runner import serve_platform

    serve_platform(
        host=host,
        port=port,
        gpus=gpus,
        cpus=cpus,
        memory_gb=memory_gb,
        warm_workers=warm_workers,
        max_upload_mb=max_upload_mb,
        import_roots=import_root or None,
        allowed_hosts=allowed_hosts or None,
        no_auth=no_auth,
        local_jobs=not no_local_jobs,
        executor=executor,
        ray_address=ray_address,
    )


def _start_detached(options: list[str]) -> None:
    from athanor.server.platform_file import read_platform_file
    from athanor.settings import current_settings

    settings = current_settings()
    logs = settings.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_file = logs / "platform.log"
    with open(log_file, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "athanor.cli", "up", *options],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        info = read_platform_file(settings)
        if info is not None and info.pid == process.pid:
            console.print(f"platform started at {info.url} (pid {info.pid}; log {log_file})")
            console.print("open the console: athanor console", highlight=False)
            return
        if process.poll() is not None:
            tail = log_file.read_text(errors="replace").strip().splitlines()[-5:]
            raise UserError(
                "the platform did not start:\n" + "\n".join(tail or [f"see {log_file}"])
            )
        time.sleep(0.1)
    raise UserError(f"the platform did not start within 120 s; see {log_file}")


def down(
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for running jobs to checkpoint and stop.")
    ] = 120.0,
    force: Annotated[
        bool, typer.Option("--force", help="Kill the platform if it has not stopped by then.")
    ] = False,
) -> None:
    """Stop the platform: running jobs checkpoint and go back to the queue (they resume at
    the next 'athanor up')."""
    from athanor.server.platform_file import read_platform_file
    from athanor.settings import current_settings

    settings = current_settings()
    info = read_platform_file(settings)
    if info is None or not info.alive():
        console.print(f"no platform is running on {settings.home}")
        return
    os.kill(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not info.alive():
            console.print(f"platform at {info.url} stopped")
            return
        time.sleep(0.1)
    if force:
        os.kill(info.pid, signal.SIGKILL)
        console.print(f"platform at {info.url} killed after {timeout:g} s")
        return
    raise UserError(
        f"the platform (pid {info.pid}) is still stopping after {timeout:g} s; wait, or use "
        "'athanor down --force'"
    )


def console_link(
    user: Annotated[
        str | None,
        typer.Option("--user", help="Sign in as this user (default: owner); hand them the link."),
    ] = None,
) -> None:
    """Print a one-time link that opens the web console signed in (on the owner's machine)."""
    from athanor.server.client import PlatformClient

    params = {"user": user} if user else None
    link = PlatformClient().call("new_login_link", params=params)["url"]
    console.print(
        f"Open {link} in your browser (the link works once, within a day)", highlight=False
    )
