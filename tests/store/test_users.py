"""Users and roles in the store: the built-in owner, tokens that belong to users, the last
admin kept, removal revoking tokens, every change in the audit trail; and the migration that
gives tokens made before users existed to the owner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from athanor.errors import Conflict, NotFound, UserError
from athanor.store import open_store
from athanor.store.database import MIGRATIONS_DIR, migrate
from athanor.store.tokens import token_hash


def test_a_new_store_has_the_builtin_admin_owner_and_tokens_act_for_users() -> None:
    store = open_store()
    assert [(u.name, u.role) for u in store.users.list()] == [("owner", "admin")]
    legacy, _ = store.tokens.create("laptop")  # no user named: the owner's, as before users
    assert legacy.user == "owner"
    ann, ann_token, secret = store.users.add("ann", "viewer", actor="cli:root")
    assert (ann.name, ann.role, ann.created_by) == ("ann", "viewer", "cli:root")
    assert (ann_token.name, ann_token.user) == ("ann", "ann")
    verified = store.tokens.verify(secret)
    assert verified is not None and verified.user == "ann"
    second, _ = store.tokens.create("ann-laptop", user="ann", actor="owner")
    assert second.user == "ann"
    with pytest.raises(NotFound, match="no user named 'bob'"):
        store.tokens.create("bob-laptop", user="bob")
    with pytest.raises(Conflict, match="a user named 'ann' exists"):
        store.users.add("ann", "editor", actor="owner")
    with pytest.raises(UserError, match="role 'boss': use one of viewer, editor, admin"):
        store.users.add("bob", "boss", actor="owner")
    with pytest.raises(UserError, match="user name 'a b'"):
        store.users.add("a b", "viewer", actor="owner")
    store.tokens.create("bob")  # a token holds the name 'bob': bob's first token is 'bob-2'
    _bob, bob_token, _ = store.users.add("bob", "editor", actor="owner")
    assert bob_token.name == "bob-2"


def test_removing_a_user_revokes_their_tokens_and_the_last_admin_stays() -> None:
    store = open_store()
    _, _, secret = store.users.add("ann", "editor", actor="owner")
    store.tokens.create("ann-ci", user="ann")
    store.users.set_role("ann", "admin", actor="owner")
    store.users.remove("owner", actor="ann")  # another admin remains
    with pytest.raises(Conflict, match="user 'ann' is the last admin; cannot remove them"):
        store.users.remove("ann", actor="ann")
    with pytest.raises(Conflict, match="user 'ann' is the last admin; cannot make them an editor"):
        store.users.set_role("ann", "editor", actor="ann")
    store.users.add("owner", "admin", actor="ann")  # the built-in name can come back
    removed, revoked = store.users.remove("ann", actor="owner")
    assert (removed.name, revoked) == ("ann", 2)
    assert store.tokens.verify(secret) is None
    assert {t.name: t.active for t in store.tokens.list() if t.user == "ann"} == {
        "ann": False,
        "ann-ci": False,
    }
    with pytest.raises(NotFound, match="no user named 'ann'"):
        store.users.remove("ann", actor="owner")
    entries = [(e.user, e.action, e.object_kind, e.object_id) for e in store.audit.list()]
    assert entries[0] == ("owner", "remove", "user", "ann")
    assert ("ann", "remove", "user", "owner") in entries
    assert ("owner", "set role", "user", "ann") in entries
    assert ("owner", "add", "user", "ann") in entries


def test_the_audit_trail_filters_by_user_time_and_count() -> None:
    audit = open_store().audit
    for number in range(5):
        audit.record("ann" if number % 2 else "bob", "submit", "job", str(number), "detail")
    assert [e.object_id for e in audit.list()] == ["4", "3", "2", "1", "0"]
    assert [e.object_id for e in audit.list(user="ann")] == ["3", "1"]
    assert [e.object_id for e in audit.list(limit=2)] == ["4", "3"]
    assert audit.list(since=datetime.now(UTC) + timedelta(minutes=1)) == []
    assert len(audit.list(since=datetime.now(UTC) - timedelta(minutes=1))) == 5


def test_tokens_made_before_users_existed_belong_to_the_builtin_admin(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
        connection.execute(
            text(
                "INSERT INTO api_tokens (name, token_hash, prefix, created_at) "
                "VALUES ('laptop', :digest, 'ath_old', '2026-11-30 10:00:00')"
            ),
            {"digest": token_hash("ath_old-secret")},
        )
    migrate(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT name, role FROM users")).all() == [
            ("owner", "admin")
        ]
        assert connection.execute(text("SELECT name, user_name FROM api_tokens")).all() == [
            ("laptop", "owner")
        ]
    engine.dispose()
