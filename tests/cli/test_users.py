"""``athanor users`` and ``athanor audit`` on the store, and ``athanor token create --user``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from athanor.cli.audit import parse_since
from athanor.cli.main import app
from athanor.errors import Conflict, UserError

runner = CliRunner()


def athanor(*args: str):
    return runner.invoke(app, list(args))


def test_users_are_added_listed_changed_and_removed_and_the_audit_lists_it() -> None:
    added = athanor("users", "add", "ann", "--role", "editor")
    assert added.exit_code == 0, added.output
    assert "user ann added as editor" in added.output and "ath_" in added.output
    token = athanor("token", "create", "ann-ci", "--user", "ann", "--json")
    assert json.loads(token.output)["user"] == "ann"
    listed = json.loads(athanor("users", "list", "--json").output)
    assert [(u["name"], u["role"], u["active_tokens"]) for u in listed] == [
        ("owner", "admin", 0),
        ("ann", "editor", 2),
    ]
    assert "now admin" in athanor("users", "set-role", "ann", "admin").output
    assert "2 token(s) revoked" in athanor("users", "remove", "ann").output
    bad = athanor("users", "set-role", "owner", "boss")
    assert isinstance(bad.exception, UserError) and "use one of viewer, editor, admin" in str(
        bad.exception
    )
    entries = json.loads(athanor("audit", "--json").output)
    assert [(e["action"], e["object_kind"], e["object_id"]) for e in entries] == [
        ("remove", "user", "ann"),
        ("set role", "user", "ann"),
        ("create", "token", "ann-ci"),
        ("create", "token", "ann"),
        ("add", "user", "ann"),
    ]
    assert all(e["user"].startswith("cli:") for e in entries)
    assert len(json.loads(athanor("audit", "--limit", "2", "--json").output)) == 2
    assert json.loads(athanor("audit", "--user", "nobody", "--json").output) == []
    assert json.loads(athanor("audit", "--since", "2999-01-01", "--json").output) == []
    assert len(json.loads(athanor("audit", "--since", "1h", "--json").output)) == 5
    table = athanor("audit").output
    assert "remove" in table and "user ann" in table


def test_the_last_admin_is_refused_with_a_clear_message() -> None:
    refused = athanor("users", "remove", "owner")
    assert isinstance(refused.exception, Conflict)
    # The command itself: exit 2 and the reason, without a traceback.
    result = subprocess.run(
        [sys.executable, "-m", "athanor.cli", "users", "set-role", "owner", "viewer"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "user 'owner' is the last admin; cannot make them a viewer" in result.stderr
    assert "Traceback" not in result.stderr


def test_since_reads_dates_times_and_ages() -> None:
    assert parse_since("2026-12-01").isoformat() == "2026-12-01T00:00:00+00:00"
    assert parse_since("2026-12-01T08:30+02:00").isoformat() == "2026-12-01T06:30:00+00:00"
    with pytest.raises(UserError, match=r"--since 'yesterday': use a date or time .* 7d"):
        parse_since("yesterday")
