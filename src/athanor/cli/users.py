"""``athanor users add|list|set-role|remove``: who may use the platform, with which role.

These commands work on the metadata store directly, as ``athanor token`` does: whoever can
open the store (its SQLite file, or the PostgreSQL URL in ``ATHANOR_DB_URL``) manages the
platform. The audit trail records them as ``cli:<login name>``.
"""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from athanor.cli.output import ago, console, print_json, table

app = typer.Typer(
    help="Users and roles: viewer reads; editor also changes; admin also manages users.",
    no_args_is_help=True,
)


def cli_actor() -> str:
    """Who the audit trail names for a change made with the CLI on the store itself."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        login = "unknown"
    return f"cli:{login}"


@app.command("add")
def add_user(
    name: Annotated[str, typer.Argument(help="The user's name.")],
    role: Annotated[str, typer.Option("--role", help="viewer, editor or admin.")] = "viewer",
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Add a user; their first API token is shown once."""
    from athanor.store import open_store

    user, token, secret = open_store().users.add(name, role, actor=cli_actor())
    if json_output:
        print_json({**user.to_json(), "token": secret, "token_name": token.name})
        return
    console.print(f"user [bold]{user.name}[/bold] added as {user.role}; their token, shown once:")
    console.print(secret)
    console.print(
        "they send it as 'Authorization: Bearer <token>' (the CLI: ATHANOR_TOKEN=<token>); "
        f"'athanor console --user {user.name}' makes them a console sign-in link"
    )


@app.command("list")
def list_users(
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List users, their roles and how many active tokens each has."""
    from athanor.store import open_store

    store = open_store()
    users = store.users.list()
    active: dict[str, int] = {}
    for token in store.tokens.list():
        if token.active:
            active[token.user] = active.get(token.user, 0) + 1
    if json_output:
        print_json([{**u.to_json(), "active_tokens": active.get(u.name, 0)} for u in users])
        return
    console.print(
        table(
            None,
            ["name", "role", "active tokens", "added", "added by"],
            [
                (u.name, u.role, str(active.get(u.name, 0)), ago(u.created_at), u.created_by)
                for u in users
            ],
        )
    )


@app.command("set-role")
def set_role(
    name: Annotated[str, typer.Argument(help="The user's name.")],
    role: Annotated[str, typer.Argument(help="viewer, editor or admin.")],
) -> None:
    """Give a user another role (it applies to their next request)."""
    from athanor.store import open_store

    user = open_store().users.set_role(name, role, actor=cli_actor())
    console.print(f"user {user.name} is now {user.role}")


@app.command("remove")
def remove_user(
    name: Annotated[str, typer.Argument(help="The user's name.")],
) -> None:
    """Remove a user and revoke their tokens (the last admin cannot be removed)."""
    from athanor.store import open_store

    user, revoked = open_store().users.remove(name, actor=cli_actor())
    console.print(f"user {user.name} removed; {revoked} token(s) revoked")
