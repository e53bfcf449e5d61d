"""``athanor token create|list|revoke``: API tokens for clients beyond this machine."""

from __future__ import annotations

from typing import Annotated

import typer

from athanor.cli.output import ago, console, print_json, table

app = typer.Typer(help="API tokens: create, list, revoke.", no_args_is_help=True)


@app.command("create")
def create_token(
    name: Annotated[str, typer.Argument(help="A name for the token (who or what uses it).")],
    user: Annotated[
        str, typer.Option("--user", help="The user it acts for, with their role.")
    ] = "owner",
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a token for a user (default: the built-in admin 'owner'); its secret is shown
    once (the store keeps only its hash)."""
    from athanor.cli.users import cli_actor
    from athanor.store import open_store

    record, secret = open_store().tokens.create(name, user=user, actor=cli_actor())
    if json_output:
        print_json({**record.to_json(), "token": secret})
        return
    console.print(
        f"token [bold]{record.name}[/bold] created for user {record.user}; it is shown only now:"
    )
    console.print(secret)
    console.print(
        "clients send it as 'Authorization: Bearer <token>' (the CLI: ATHANOR_TOKEN=<token>)"
    )


@app.command("list")
def list_tokens(
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List tokens (never their secrets)."""
    from athanor.store import open_store

    records = open_store().tokens.list()
    if json_output:
        print_json([record.to_json() for record in records])
        return
    if not records:
        console.print("no tokens: 'athanor token create NAME' makes one")
        return
    console.print(
        table(
            None,
            ["name", "user", "starts with", "created", "last used", "state"],
            [
                (
                    r.name,
                    r.user,
                    r.prefix + "...",
                    ago(r.created_at),
                    ago(r.last_used_at) or "never",
                    "active" if r.active else f"revoked {ago(r.revoked_at)}",
                )
                for r in records
            ],
        )
    )


@app.command("revoke")
def revoke_token(
    name: Annotated[str, typer.Argument(help="The token's name.")],
) -> None:
    """Revoke a token: it stops working at once."""
    from athanor.cli.users import cli_actor
    from athanor.store import open_store

    record = open_store().tokens.revoke(name, actor=cli_actor())
    console.print(f"token {record.name} revoked")
