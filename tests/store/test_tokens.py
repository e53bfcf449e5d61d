"""API tokens: shown once, stored hashed, verified, revoked."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from athanor.errors import Conflict, NotFound, UserError
from athanor.settings import current_settings
from athanor.store import open_store
from athanor.store.database import engine_for
from athanor.store.tokens import TOKEN_PREFIX

pytestmark = pytest.mark.usefixtures("backend")


def test_tokens_are_stored_hashed_verified_and_revoked(athanor_home: Path) -> None:
    tokens = open_store().tokens
    record, secret = tokens.create("ci")
    assert secret.startswith(TOKEN_PREFIX) and len(secret) > 40
    assert record.prefix == secret[: len(record.prefix)] and record.active
    with engine_for(current_settings().db_url).connect() as connection:
        stored = connection.execute(text("SELECT token_hash, prefix FROM api_tokens"))
        digest, prefix = stored.one()
    assert secret not in (digest, prefix) and len(digest) == 64
    verified = tokens.verify(secret)
    assert verified is not None and verified.name == "ci"
    assert tokens.list()[0].last_used_at is not None
    assert tokens.verify(secret + "x") is None
    tokens.revoke("ci")
    assert tokens.verify(secret) is None
    assert not tokens.list()[0].active


def test_token_names_are_checked_and_unique() -> None:
    tokens = open_store().tokens
    tokens.create("laptop")
    with pytest.raises(Conflict, match="a token named 'laptop' exists"):
        tokens.create("laptop")
    with pytest.raises(UserError, match="token name 'a b'"):
        tokens.create("a b")
    with pytest.raises(NotFound, match="no token named 'nope'"):
        tokens.revoke("nope")
