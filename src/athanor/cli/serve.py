"""``athanor serve NAME[@VERSION|@ALIAS]...``: an HTTP prediction server with dynamic batching."""

from __future__ import annotations

from typing import Annotated

import typer

from athanor.cli.output import console


def serve(
    refs: Annotated[
        list[str],
        typer.Argument(
            help="Models to serve: NAME (follows the newest version), NAME@VERSION, or "
            "NAME@ALIAS (follows the alias)."
        ),
    ],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 8000,
    max_batch_size: Annotated[int, typer.Option(help="Most samples per forward pass.")] = 64,
    max_wait_ms: Annotated[
        float, typer.Option(help="How long a batch that is not full waits for more requests.")
    ] = 2.0,
    max_body_mb: Annotated[float, typer.Option(help="Largest request body (MiB).")] = 16.0,
    max_request_samples: Annotated[int, typer.Option(help="Most samples per request.")] = 1024,
    alias_poll_s: Annotated[
        float, typer.Option(help="Seconds between look-ups of followed aliases.")
    ] = 2.0,
    runtime: Annotated[
        str,
        typer.Option(help="auto (ONNX Runtime on the CPU when it matches), torch, onnxruntime."),
    ] = "auto",
    threads: Annotated[
        int | None, typer.Option(help="Inference threads (default: CPU cores less one).")
    ] = None,
    device: Annotated[str, typer.Option(help="cpu, cuda, cuda:N, mps or auto.")] = "cpu",
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
    allowed_hosts: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-hosts",
            help="Another name clients reach this server by (repeatable; loopback names and "
            "the --host address are always allowed).",
        ),
    ] = None,
) -> None:
    """Serve registered models over HTTP: predict, health, readiness, metrics, OpenAPI docs.

    On a loopback address any local client may call. On any other address every request but
    the health probes (/healthz, /readyz, /v2/health/live, /v2/health/ready) needs an API
    token of this home ('athanor token create NAME'), and the server refuses to start while
    there is none.
    """
    import contextlib
    import socket

    import uvicorn

    from athanor.errors import UserError
    from athanor.serve.app import create_app
    from athanor.spec.loading import validate_settings
    from athanor.spec.serving import ServingSpec

    config = validate_settings(
        ServingSpec,
        {
            "max_batch_size": max_batch_size,
            "max_wait_ms": max_wait_ms,
            "max_body_mb": max_body_mb,
            "max_request_samples": max_request_samples,
            "alias_poll_s": alias_poll_s,
            "runtime": runtime,
            "threads": threads,
            "device": device,
        },
        "serve options",
    )
    guard = _access_guard(host, allowed_hosts or [])
    app = create_app(refs, config=config)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio turns Nagle's algorithm off only on sockets that say
    # so, and with it on every response waits ~40 ms for a delayed ACK.
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    # Listening now, before the address is printed: a client that connects at once waits in
    # the backlog while uvicorn starts, rather than being refused.
    listener.listen(2048)
    bound = listener.getsockname()[1]
    models = app.state.model_server.models
    shown = "[" + host + "]" if family == socket.AF_INET6 else host
    for name, model in models.items():
        follows = f" (following {model.ref})" if model.follows else ""
        console.print(
            f"serving [bold]{model.active.record.ref}[/bold]{follows} at "
            f"http://{shown}:{bound}/v1/models/{name}/predict ({model.active.runtime})"
        )
    console.print(f"docs at http://{shown}:{bound}/docs; Ctrl-C stops", highlight=False)
    console.file.flush()
    server = uvicorn.Server(
        uvicorn.Config(
            guard(app), log_level="warning", access_log=access_log, timeout_graceful_shutdown=10
        )
    )
    # uvicorn re-raises Ctrl-C once it has drained requests; for a server it is the normal
    # way to stop, not an interruption.
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[listener])
    console.print("stopped", highlight=False)


def _access_guard(host: str, allowed_hosts: list[str]):
    """What wraps the model server: the Host check always, API tokens beyond loopback.

    Raises:
        UserError: a non-loopback address while the home has no active token.
    """
    from functools import partial

    from athanor.errors import UserError
    from athanor.server.guards import AccessGuard, allowed_host_names, is_loopback
    from athanor.store import open_store

    store = open_store()
    tokens = store.tokens
    local = is_loopback(host)
    if not local and not any(token.active for token in tokens.list()):
        raise UserError(
            f"serving on {host} needs API tokens, and this home has none: create one with "
            "'athanor token create NAME' and send it as 'Authorization: Bearer <token>'"
        )
    return partial(
        AccessGuard,
        tokens=tokens,
        users=store.users,  # any user may predict: predicting is a read (docs/team.md)
        allowed_hosts=allowed_host_names(host, tuple(allowed_hosts)),
        no_auth=local,
        # Probes carry no token: the native ones and the Open Inference Protocol's.
        open_paths=frozenset({"/healthz", "/readyz", "/v2/health/live", "/v2/health/ready"}),
        console_files=False,
    )
