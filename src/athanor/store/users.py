"""Users and their roles; every token belongs to one.

Roles are ordered: a ``viewer`` reads; an ``editor`` also imports data, labels, trains,
registers and deploys; an ``admin`` also manages users and tokens. The built-in admin
``owner`` (made by migration 0006) holds the tokens created before users existed and the
owner's token of ``athanor up``. The last admin can neither be removed nor demoted, so a
platform always has someone who can manage it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from athanor.errors import Conflict, NotFound, UserError
from athanor.store.audit import add_audit_entry
from athanor.store.lease import aware, utcnow
from athanor.store.tables import ApiTokenRow, UserRow
from athanor.store.tokens import NAME_PATTERN, TokenRecord, TokenRepository

ROLES = ("viewer", "editor", "admin")
"""The roles, weakest first: each may do what the ones before it may."""
OWNER_USER = "owner"


def role_rank(role: str) -> int:
    """A role's place in :data:`ROLES` (higher may do more)."""
    return ROLES.index(role)


def check_role(role: str) -> str:
    """``role`` if it is one of :data:`ROLES`.

    Raises:
        UserError: another role, naming the valid ones.
    """
    if role not in ROLES:
        raise UserError(f"role {role!r}: use one of {', '.join(ROLES)}")
    return role


@dataclass(frozen=True)
class UserRecord:
    """A stored user."""

    id: int
    name: str
    role: str
    created_at: datetime
    created_by: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
        }

    @classmethod
    def from_row(cls, row: UserRow) -> UserRecord:
        return cls(
            id=row.id,
            name=row.name,
            role=row.role,
            created_at=aware(row.created_at),  # type: ignore[arg-type]
            created_by=row.created_by,
        )


class UserRepository:
    """Add, list, change and remove users; each change is audited with its actor."""

    def __init__(self, engine: Engine, tokens: TokenRepository) -> None:
        self._engine = engine
        self._tokens = tokens

    def get(self, name: str) -> UserRecord | None:
        """The user named ``name``, or ``None``."""
        with Session(self._engine) as session:
            row = session.scalar(select(UserRow).where(UserRow.name == name))
            return None if row is None else UserRecord.from_row(row)

    def require(self, name: str) -> UserRecord:
        """The user named ``name``.

        Raises:
            NotFound: no such user.
        """
        user = self.get(name)
        if user is None:
            raise NotFound(
                f"no user named {name!r} (see 'athanor users list')",
                code="user_not_found",
                params={"name": name},
            )
        return user

    def list(self) -> list[UserRecord]:
        """Every user, oldest first."""
        with Session(self._engine) as session:
            rows = session.scalars(select(UserRow).order_by(UserRow.id))
            return [UserRecord.from_row(row) for row in rows]

    def add(self, name: str, role: str, actor: str) -> tuple[UserRecord, TokenRecord, str]:
        """A new user with a first token (named after the user).

        Returns:
            The user, its token, and the token's secret (shown once, never stored).

        Raises:
            UserError: an invalid name or role.
            Conflict: a user with this name exists.
        """
        if not NAME_PATTERN.match(name):
            raise UserError(f"user name {name!r}: use letters, digits, '_', '.', '-' (at most 100)")
        check_role(role)
        row = UserRow(name=name, role=role, created_at=utcnow(), created_by=actor[:100])
        try:
            with Session(self._engine) as session, session.begin():
                session.add(row)
                session.flush()
                add_audit_entry(session, actor, "add", "user", name, f"role {role}")
                record = UserRecord.from_row(row)
        except IntegrityError:
            raise Conflict(
                f"a user named {name!r} exists (see 'athanor users list')",
                code="name_taken",
                params={"name": name},
                field="name",
            ) from None
        token, secret = self._tokens.create_free_name(name, user=name, actor=actor)
        return record, token, secret

    def set_role(self, name: str, role: str, actor: str) -> UserRecord:
        """Give ``name`` the role ``role``.

        Raises:
            UserError: an invalid role.
            NotFound: no such user.
            Conflict: it would leave the platform without an admin.
        """
        check_role(role)
        with Session(self._engine) as session, session.begin():
            row = self._locked_user(session, name)
            if row.role == "admin" and role != "admin":
                article = "an" if role[0] in "aeiou" else "a"
                self._refuse_last_admin(session, name, f"make them {article} {role}")
            previous = row.role
            row.role = role
            session.flush()
            add_audit_entry(session, actor, "set role", "user", name, f"{previous} -> {role}")
            return UserRecord.from_row(row)

    def remove(self, name: str, actor: str) -> tuple[UserRecord, int]:
        """Remove ``name`` and revoke their tokens (they stop working at once).

        Returns:
            The removed user and how many tokens were revoked.

        Raises:
            NotFound: no such user.
            Conflict: ``name`` is the last admin.
        """
        with Session(self._engine) as session, session.begin():
            row = self._locked_user(session, name)
            if row.role == "admin":
                self._refuse_last_admin(session, name, "remove them")
            record = UserRecord.from_row(row)
            revoked = session.execute(
                update(ApiTokenRow)
                .where(ApiTokenRow.user_name == name, ApiTokenRow.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            ).rowcount
            session.delete(row)
            detail = f"was {row.role}; {revoked} token(s) revoked"
            add_audit_entry(session, actor, "remove", "user", name, detail)
        return record, revoked or 0

    @staticmethod
    def _locked_user(session: Session, name: str) -> UserRow:
        # FOR UPDATE (a no-op on SQLite, whose writers are serialized anyway) keeps two
        # concurrent demotions from each seeing the other admin still there.
        row = session.scalar(select(UserRow).where(UserRow.name == name).with_for_update())
        if row is None:
            raise NotFound(
                f"no user named {name!r} (see 'athanor users list')",
                code="user_not_found",
                params={"name": name},
            )
        return row

    @staticmethod
    def _refuse_last_admin(session: Session, name: str, change: str) -> None:
        admins = session.scalars(
            select(UserRow.name).where(UserRow.role == "admin").with_for_update()
        ).all()
        if [admin for admin in admins if admin != name]:
            return
        raise Conflict(
            f"user {name!r} is the last admin; cannot {change}: make another user an admin "
            "first ('athanor users set-role NAME admin')",
            code="last_admin",
            params={"name": name},
        )
