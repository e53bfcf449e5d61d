"""API tokens: random secrets shown once; the store keeps only their SHA-256. Each token
belongs to a user (:mod:`athanor.store.users`) and acts with that user's role."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from athanor.errors import Conflict, NotFound, UserError
from athanor.store.audit import add_audit_entry
from athanor.store.runs import _aware, utcnow
from athanor.store.tables import ApiTokenRow, UserRow

TOKEN_PREFIX = "ath_"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is refreshed at most this often


def token_hash(secret: str) -> str:
    """The SHA-256 (hex) of a token's secret: what the store keeps."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TokenRecord:
    """A stored token (never its secret)."""

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    user: str = "owner"

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = value.isoformat()
        data["active"] = self.active
        return data

    @classmethod
    def from_row(cls, row: ApiTokenRow) -> TokenRecord:
        return cls(
            id=row.id,
            name=row.name,
            prefix=row.prefix,
            created_at=_aware(row.created_at),  # type: ignore[arg-type]
            last_used_at=_aware(row.last_used_at),
            revoked_at=_aware(row.revoked_at),
            user=row.user_name,
        )


class TokenRepository:
    """Create, list, revoke and verify API tokens."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(
        self, name: str, user: str = "owner", actor: str | None = None
    ) -> tuple[TokenRecord, str]:
        """A new token named ``name`` for ``user``; returns it with its secret (shown once,
        never stored).

        Args:
            name: the token's name.
            user: the user it acts for (default: the built-in admin ``owner``).
            actor: who creates it, for the audit trail (``None``: not audited).

        Raises:
            UserError: an invalid name.
            NotFound: no such user.
            Conflict: a token with this name exists.
        """
        if not NAME_PATTERN.match(name):
            raise UserError(
                f"token name {name!r}: use letters, digits, '_', '.', '-' (at most 100)"
            )
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = ApiTokenRow(
            name=name,
            token_hash=token_hash(secret),
            prefix=secret[: len(TOKEN_PREFIX) + 6],
            created_at=utcnow(),
            last_used_at=None,
            revoked_at=None,
            user_name=user,
        )
        try:
            with Session(self._engine) as session, session.begin():
                if session.scalar(select(UserRow.id).where(UserRow.name == user)) is None:
                    raise NotFound(f"no user named {user!r} (see 'athanor users list')")
                session.add(row)
                session.flush()
                if actor is not None:
                    add_audit_entry(session, actor, "create", "token", name, f"for user {user}")
                record = TokenRecord.from_row(row)
        except IntegrityError:
            raise Conflict(
                f"a token named {name!r} exists; revoke it first or choose another name",
                code="name_taken",
                params={"name": name},
                field="name",
            ) from None
        return record, secret

    def create_free_name(
        self, base: str, user: str, actor: str | None = None
    ) -> tuple[TokenRecord, str]:
        """A new token for ``user`` named ``base``, or ``base-2``, ``base-3``... when taken."""
        taken = {record.name for record in self.list()}
        name, suffix = base[:90], 1
        for _attempt in range(20):
            while name in taken:
                suffix += 1
                name = f"{base[:90]}-{suffix}"
            try:
                return self.create(name, user=user, actor=actor)
            except Conflict:  # another process took the name at the same moment
                taken.add(name)
        raise Conflict(f"could not find a free token name starting with {base!r}; try again")

    def list(self) -> list[TokenRecord]:
        """Every token, revoked ones included, oldest first."""
        with Session(self._engine) as session:
            rows = session.scalars(select(ApiTokenRow).order_by(ApiTokenRow.id))
            return [TokenRecord.from_row(row) for row in rows]

    def revoke(self, name: str, actor: str | None = None) -> TokenRecord:
        """Revoke the token named ``name`` (it stops working at once).

        Raises:
            NotFound: no such token.
        """
        with Session(self._engine) as session, session.begin():
            row = session.scalar(select(ApiTokenRow).where(ApiTokenRow.name == name))
            if row is None:
                raise NotFound(f"no token named {name!r} (see 'athanor token list')")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
                if actor is not None:
                    add_audit_entry(session, actor, "revoke", "token", name, f"of {row.user_name}")
            session.flush()
            return TokenRecord.from_row(row)

    def verify(self, secret: str) -> TokenRecord | None:
        """The active token whose secret this is, or ``None``."""
        digest = token_hash(secret)
        with Session(self._engine) as session:
            row = session.scalar(select(ApiTokenRow).where(ApiTokenRow.token_hash == digest))
            if row is None or row.revoked_at is not None:
                return None
            record = TokenRecord.from_row(row)
        now = utcnow()
        if record.last_used_at is None or now - record.last_used_at > _TOUCH_EVERY:
            with self._engine.begin() as connection:
                connection.execute(
                    update(ApiTokenRow).where(ApiTokenRow.id == record.id).values(last_used_at=now)
                )
        return record
