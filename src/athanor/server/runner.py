"""``athanor up``: the API server, the scheduler and its workers in one process tree.

The process binds its socket first (so ``--port 0`` picks a free port whose URL is then
known), starts the scheduler with the API, writes ``platform.json``, and serves until
SIGTERM or Ctrl-C. Stopping is clean: running jobs are preempted (checkpoint, back to the
queue; they resume when a platform starts again), platform.json is removed, the lock freed.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path

from athanor import __version__
from athanor.settings import Settings, current_settings


def url_for(host: str, port: int) -> str:
    """``http://host:port`` (IPv6 hosts in brackets)."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: a free one).

    Raises:
        UserError: the address is taken or invalid.
    """
    from athanor.errors import UserError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio turns Nagle's algorithm off only for sockets that say
    # so, and with it on, every answer on a kept-alive connection waits 40 ms for an ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(2048)
    sock.set_inheritable(False)
    return sock


def serve_platform(
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    gpus: str = "auto",
    cpus: int | None = None,
    memory_gb: float | None = None,
    warm_workers: int = 1,
    max_upload_mb: int = 2048,
    heartbeat_timeout: float = 30.0,
    import_roots: list[str] | None = None,
    allowed_hosts: list[str] | None = None,
    no_auth: bool = False,
    local_jobs: bool = True,
    executor: str = "local",
    ray_address: str = "local",
    settings: Settings | None = None,
) -> None:
    """Run the platform in this process until it is stopped.

    Args:
        host: the interface to listen on (default loopback only).
        port: the port (0: any free one).
        gpus: ``auto``, ``none`` or GPU indices such as ``0,1``.
        cpus: CPU slots to share among jobs (default: this machine's CPUs).
        memory_gb: memory to share (default: the machine's).
        warm_workers: workers kept started and waiting for a job (0 or 1).
        max_upload_mb: most megabytes one upload may hold.
        heartbeat_timeout: seconds of silence after which a worker is taken for dead.
        import_roots: folders whose files may be imported by path (default: the dataset
            mirrors only).
        allowed_hosts: more names the ``Host`` header may carry (a DNS name of this machine).
        no_auth: let loopback clients call without a credential (loudly logged).
        local_jobs: run jobs on this machine; without, jobs wait for workers on other
            machines (``athanor worker``), and this platform only serves and watches.
        executor: where job workers run: ``local`` (processes of this machine) or ``ray``
            (a Ray cluster, whose total resources replace ``gpus``, ``cpus`` and
            ``memory_gb``).
        ray_address: the Ray cluster of ``executor="ray"``: ``local`` (one started by this
            process), ``auto``, ``HOST:PORT`` or ``ray://HOST:PORT``.
        settings: the store (default: from the environment).

    Raises:
        UserError: another platform runs on this home, the address is taken, bad options.
    """
    import uvicorn

    from athanor.errors import UserError
    from athanor.jobs.executor import Executor, LocalExecutor
    from athanor.jobs.machine import detect_machine
    from athanor.jobs.scheduler import Scheduler
    from athanor.server.app import create_app
    from athanor.server.console import console_built
    from athanor.server.context import MB, PlatformContext
    from athanor.server.credentials import ensure_owner_token
    from athanor.server.guards import allowed_host_names
    from athanor.server.platform_file import (
        PlatformInfo,
        PlatformLock,
        remove_platform_file,
        write_platform_file,
    )
    from athanor.store import open_store

    settings = settings or current_settings()
    roots = _import_roots(import_roots, settings)
    with PlatformLock(settings):
        workers: Executor
        if executor == "ray":
            if not local_jobs:
                raise UserError(
                    "--executor ray runs jobs on a Ray cluster; leave out --no-local-jobs"
                )
            from athanor.jobs.ray_executor import RayExecutor

            workers = RayExecutor(address=ray_address)
            machine = workers.machine()
        elif executor == "local":
            machine = detect_machine(gpus, cpus, memory_gb)
            workers = LocalExecutor(
                warm_workers=warm_workers if local_jobs else 0,
                spare_log=settings.home / "logs" / "workers.log",
            )
        else:
            raise UserError(f"--executor {executor!r}: valid executors are local and ray")
        store = open_store(settings)
        ensure_owner_token(settings, store.tokens)
        sock = bind(host, port)
        url = url_for(host, sock.getsockname()[1])
        scheduler = Scheduler(
            store, machine, workers, heartbeat_timeout=heartbeat_timeout, places_jobs=local_jobs
        )
        pid = os.getpid()
        context: PlatformContext | None = None

        def started() -> None:
            assert context is not None
            write_platform_file(
                settings,
                PlatformInfo(
                    url=url,
                    pid=pid,
                    started_at=datetime.now(UTC).isoformat(),
                    version=__version__,
                ),
            )
            gpu_text = ", ".join(f"GPU {g.index}" for g in machine.gpus) or "no GPUs"
            slots = f"{gpu_text}, {machine.cpus} CPU slots" if local_jobs else "no local jobs"
            if executor == "ray":
                slots = f"jobs on the Ray cluster at {ray_address}: {slots}"
            print(
                f"Athanor {__version__} platform at {url} ({slots}; store {settings.home}); "
                "stop it with 'athanor down' or Ctrl-C",
                flush=True,
            )
            if no_auth:
                print(
                    "WARNING: --no-auth: any program or user on this machine can drive this "
                    "platform without a credential (Host and Origin checks stay on)",
                    file=sys.stderr,
                    flush=True,
                )
            if console_built():
                link = f"{url}/login?token={context.sessions.new_login_token()}"
                print(f"Console: open {link} in your browser (the link works once)", flush=True)
            else:
                print(
                    "Console: not built in this installation (run 'make run' in a checkout, "
                    "which builds web/); the REST API works without it",
                    flush=True,
                )

        def stopped() -> None:
            remove_platform_file(settings, pid)
            print("platform stopped", flush=True)

        context = PlatformContext(
            store=store,
            machine=machine,
            scheduler=scheduler,
            max_upload_bytes=max_upload_mb * MB,
            url=url,
            import_roots=roots,
            allowed_hosts=allowed_host_names(host, tuple(allowed_hosts or ())),
            no_auth=no_auth,
            on_started=started,
            on_stopped=stopped,
        )
        app = create_app(context)
        config = uvicorn.Config(
            app,
            log_level="warning",
            timeout_graceful_shutdown=3,
            proxy_headers=True,
            server_header=False,
        )
        server = uvicorn.Server(config)
        handle_exit = server.handle_exit

        def stop_on_signal(signum: int, frame: object) -> None:
            context.stopping.set()  # log streams end now instead of holding the shutdown
            handle_exit(signum, frame)  # type: ignore[arg-type]

        server.handle_exit = stop_on_signal  # type: ignore[method-assign]
        # uvicorn raises the stopping signal again once it has shut down; with these
        # handlers in place that ends nothing, and the process exits normally.
        previous = {
            signum: signal.signal(signum, lambda *_: None)
            for signum in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            server.run(sockets=[sock])
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            sock.close()
            remove_platform_file(settings, pid)
    sys.stdout.flush()


def _import_roots(given: list[str] | None, settings: Settings) -> tuple[Path, ...]:
    """The folders whose files the API may import by path, resolved.

    Raises:
        UserError: a given folder does not exist.
    """
    from athanor.errors import UserError

    if given:
        roots = []
        for text in given:
            folder = Path(text).expanduser()
            if not folder.is_dir():
                raise UserError(f"--import-root {text}: no such folder")
            roots.append(folder.resolve())
        return tuple(roots)
    # Never a default root as wide as the home folder: the owner names what may be imported.
    return tuple(p.resolve() for p in settings.data_mirrors if p.is_dir())
