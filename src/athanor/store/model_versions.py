"""Registered models, their numbered versions, aliases and tags in the metadata database."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from athanor.errors import NotFound
from athanor.store.database import write_session
from athanor.store.runs import _aware, utcnow
from athanor.store.tables import ModelAliasRow, ModelTagRow, ModelVersionRow, RegisteredModelRow


@dataclass(frozen=True)
class ModelVersionRecord:
    """One registered version: where its package lies, where it came from, how it is named."""

    name: str
    version: int
    run_id: int | None
    path: str
    content_hash: str
    created_at: datetime
    metrics: dict[str, Any]
    description: str
    tags: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        data["aliases"] = list(self.aliases)
        data["ref"] = self.ref
        return data

    @classmethod
    def from_row(
        cls,
        row: ModelVersionRow,
        *,
        tags: dict[str, str] | None = None,
        aliases: tuple[str, ...] = (),
    ) -> ModelVersionRecord:
        return cls(
            name=row.name,
            version=row.version,
            run_id=row.run_id,
            path=row.path,
            content_hash=row.content_hash,
            created_at=_aware(row.created_at),  # type: ignore[arg-type]
            metrics=row.metrics or {},
            description=row.description,
            tags=tags or {},
            aliases=aliases,
        )


@dataclass(frozen=True)
class RegisteredModelRecord:
    """A model name with a count of its versions, the newest one and its aliases."""

    name: str
    description: str
    created_at: datetime
    versions: int
    latest: int | None
    aliases: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        return data


class ModelRepository:
    """Allocate version numbers, look versions up, and manage aliases, tags and deletion."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def next_version(self, name: str) -> int:
        """The number the next registration of ``name`` would get (1 for a new name).

        Numbers of deleted versions are never given again, so ``name@3`` always means the
        same package for as long as it exists.
        """
        with Session(self._engine) as session:
            current = session.scalar(
                select(func.max(ModelVersionRow.version)).where(ModelVersionRow.name == name)
            )
            last = session.scalar(
                select(RegisteredModelRow.last_version).where(RegisteredModelRow.name == name)
            )
        return max(int(current or 0), int(last or 0)) + 1

    def add_version(
        self,
        name: str,
        *,
        version: int,
        path: str,
        content_hash: str,
        run_id: int | None = None,
        metrics: dict[str, Any] | None = None,
        description: str = "",
        tags: dict[str, str] | None = None,
    ) -> ModelVersionRecord:
        """Record version ``version`` of ``name`` (creating the name on first use).

        Raises:
            FileExistsError: the version number was taken concurrently; allocate again.
        """
        row = ModelVersionRow(
            name=name,
            version=version,
            run_id=run_id,
            path=path,
            content_hash=content_hash,
            created_at=utcnow(),
            metrics=metrics or {},
            description=description,
        )
        try:
            with write_session(self._engine) as session:
                # Locked: registrations of one model take turns, so that last_version
                # only grows.
                model = session.get(RegisteredModelRow, name, with_for_update=True)
                if model is None:
                    model = RegisteredModelRow(
                        name=name, description=description, created_at=utcnow(), last_version=0
                    )
                    session.add(model)
                    session.flush()
                model.last_version = max(model.last_version or 0, version)
                session.add(row)
                session.flush()
                for key, value in (tags or {}).items():
                    session.add(ModelTagRow(name=name, version=version, key=key, value=value))
                session.flush()
                return ModelVersionRecord.from_row(row, tags=dict(tags or {}))
        except IntegrityError as exc:
            raise FileExistsError(f"{name}@{version} was registered concurrently") from exc

    def get(self, name: str, version: int | None = None) -> ModelVersionRecord:
        """Version ``version`` of ``name``, or its newest version.

        Raises:
            NotFound: no such model or version, naming what exists.
        """
        with Session(self._engine) as session:
            query = select(ModelVersionRow).where(ModelVersionRow.name == name)
            if version is None:
                query = query.order_by(ModelVersionRow.version.desc()).limit(1)
            else:
                query = query.where(ModelVersionRow.version == version)
            row = session.scalars(query).first()
            if row is None:
                versions = session.scalars(
                    select(ModelVersionRow.version)
                    .where(ModelVersionRow.name == name)
                    .order_by(ModelVersionRow.version)
                ).all()
                if not versions:
                    raise NotFound(
                        f"no model named '{name}' (see 'athanor models list')",
                        code="model_not_found",
                        params={"name": name},
                    )
                raise NotFound(
                    f"model '{name}' has no version {version}; versions: "
                    + ", ".join(map(str, versions)),
                    code="model_not_found",
                    params={"name": f"{name}@{version}"},
                )
            return self._records(session, name, [row])[0]

    def versions(self, name: str) -> list[ModelVersionRecord]:
        """Every version of ``name``, newest first."""
        with Session(self._engine) as session:
            rows = session.scalars(
                select(ModelVersionRow)
                .where(ModelVersionRow.name == name)
                .order_by(ModelVersionRow.version.desc())
            ).all()
            if not rows:
                raise NotFound(
                    f"no model named '{name}' (see 'athanor models list')",
                    code="model_not_found",
                    params={"name": name},
                )
            return self._records(session, name, list(rows))

    def _records(
        self, session: Session, name: str, rows: list[ModelVersionRow]
    ) -> list[ModelVersionRecord]:
        numbers = [row.version for row in rows]
        tags: dict[int, dict[str, str]] = {}
        for tag in session.scalars(
            select(ModelTagRow)
            .where(ModelTagRow.name == name, ModelTagRow.version.in_(numbers))
            .order_by(ModelTagRow.key)
        ):
            tags.setdefault(tag.version, {})[tag.key] = tag.value
        aliases: dict[int, list[str]] = {}
        for alias in session.scalars(
            select(ModelAliasRow).where(ModelAliasRow.name == name).order_by(ModelAliasRow.alias)
        ):
            aliases.setdefault(alias.version, []).append(alias.alias)
        return [
            ModelVersionRecord.from_row(
                row, tags=tags.get(row.version), aliases=tuple(aliases.get(row.version, ()))
            )
            for row in rows
        ]

    def from_runs(self, run_ids: list[int]) -> list[ModelVersionRecord]:
        """The versions registered from any of ``run_ids``, by name and version."""
        if not run_ids:
            return []
        query = (
            select(ModelVersionRow)
            .where(ModelVersionRow.run_id.in_(run_ids))
            .order_by(ModelVersionRow.name, ModelVersionRow.version)
        )
        with Session(self._engine) as session:
            return [ModelVersionRecord.from_row(row) for row in session.scalars(query)]

    def list(self) -> list[RegisteredModelRecord]:
        """Every registered model name, alphabetically."""
        query = (
            select(
                RegisteredModelRow,
                func.count(ModelVersionRow.id),
                func.max(ModelVersionRow.version),
            )
            .outerjoin(ModelVersionRow, ModelVersionRow.name == RegisteredModelRow.name)
            .group_by(RegisteredModelRow.name)
            .order_by(RegisteredModelRow.name)
        )
        with Session(self._engine) as session:
            aliases: dict[str, dict[str, int]] = {}
            for alias in session.scalars(select(ModelAliasRow).order_by(ModelAliasRow.alias)):
                aliases.setdefault(alias.name, {})[alias.alias] = alias.version
            return [
                RegisteredModelRecord(
                    name=model.name,
                    description=model.description,
                    created_at=_aware(model.created_at),  # type: ignore[arg-type]
                    versions=int(count),
                    latest=latest,
                    aliases=aliases.get(model.name, {}),
                )
                for model, count, latest in session.execute(query)
            ]

    # Aliases -------------------------------------------------------------------------------

    def aliases(self, name: str) -> dict[str, int]:
        """``{alias: version}`` of ``name`` (empty when it has none)."""
        with Session(self._engine) as session:
            return {
                row.alias: row.version
                for row in session.scalars(
                    select(ModelAliasRow)
                    .where(ModelAliasRow.name == name)
                    .order_by(ModelAliasRow.alias)
                )
            }

    def alias_version(self, name: str, alias: str) -> int:
        """The version ``name@alias`` points at.

        Raises:
            NotFound: no such model or alias, naming the aliases that exist.
        """
        with Session(self._engine) as session:
            version = session.scalar(
                select(ModelAliasRow.version).where(
                    ModelAliasRow.name == name, ModelAliasRow.alias == alias
                )
            )
        if version is not None:
            return int(version)
        existing = self.aliases(name)
        if not existing:
            self.get(name)  # NotFound for an unknown model
            raise NotFound(
                f"model '{name}' has no alias '{alias}' (it has none; set one with "
                f"'athanor models alias {name} {alias} VERSION')"
            )
        raise NotFound(
            f"model '{name}' has no alias '{alias}'; aliases: "
            + ", ".join(f"{a} -> {v}" for a, v in existing.items())
        )

    def set_alias(self, name: str, alias: str, version: int) -> int | None:
        """Point ``name@alias`` at ``version`` (moving it if it exists).

        Returns:
            The version the alias pointed at before, or ``None`` for a new alias.

        Raises:
            NotFound: no such model or version.
        """
        self.get(name, version)
        with Session(self._engine) as session, session.begin():
            row = session.get(ModelAliasRow, (name, alias))
            previous = row.version if row is not None else None
            if row is None:
                session.add(
                    ModelAliasRow(name=name, alias=alias, version=version, updated_at=utcnow())
                )
            else:
                row.version = version
                row.updated_at = utcnow()
        return previous

    def remove_alias(self, name: str, alias: str) -> int:
        """Remove ``name@alias``; returns the version it pointed at.

        Raises:
            NotFound: no such alias.
        """
        version = self.alias_version(name, alias)
        with Session(self._engine) as session, session.begin():
            session.execute(
                delete(ModelAliasRow).where(
                    ModelAliasRow.name == name, ModelAliasRow.alias == alias
                )
            )
        return version

    # Tags and descriptions -----------------------------------------------------------------

    def set_tags(self, name: str, version: int, tags: dict[str, str]) -> ModelVersionRecord:
        """Add or overwrite ``key=value`` tags on a version."""
        self.get(name, version)
        with Session(self._engine) as session, session.begin():
            for key, value in tags.items():
                row = session.get(ModelTagRow, (name, version, key))
                if row is None:
                    session.add(ModelTagRow(name=name, version=version, key=key, value=value))
                else:
                    row.value = value
        return self.get(name, version)

    def remove_tags(self, name: str, version: int, keys: list[str]) -> ModelVersionRecord:
        """Remove tags by key from a version.

        Raises:
            NotFound: a key the version does not have, naming the keys it has.
        """
        record = self.get(name, version)
        unknown = [key for key in keys if key not in record.tags]
        if unknown:
            have = ", ".join(record.tags) or "none"
            raise NotFound(f"{record.ref} has no tag {', '.join(unknown)}; its tags: {have}")
        with Session(self._engine) as session, session.begin():
            session.execute(
                delete(ModelTagRow).where(
                    ModelTagRow.name == name,
                    ModelTagRow.version == version,
                    ModelTagRow.key.in_(keys),
                )
            )
        return self.get(name, version)

    def set_description(self, name: str, version: int | None, description: str) -> None:
        """Describe a version, or the model itself when ``version`` is ``None``."""
        self.get(name, version)
        with Session(self._engine) as session, session.begin():
            if version is None:
                session.execute(
                    update(RegisteredModelRow)
                    .where(RegisteredModelRow.name == name)
                    .values(description=description)
                )
            else:
                session.execute(
                    update(ModelVersionRow)
                    .where(ModelVersionRow.name == name, ModelVersionRow.version == version)
                    .values(description=description)
                )

    # Deletion ------------------------------------------------------------------------------

    def delete_version(self, name: str, version: int) -> ModelVersionRecord:
        """Forget one version (its tags with it); the caller removes its package folder.

        Aliases that point at it are removed too; the caller decides whether that is allowed.
        """
        record = self.get(name, version)
        with Session(self._engine) as session, session.begin():
            session.execute(
                delete(ModelAliasRow).where(
                    ModelAliasRow.name == name, ModelAliasRow.version == version
                )
            )
            session.execute(
                delete(ModelTagRow).where(ModelTagRow.name == name, ModelTagRow.version == version)
            )
            session.execute(
                delete(ModelVersionRow).where(
                    ModelVersionRow.name == name, ModelVersionRow.version == version
                )
            )
        return record

    def delete_model(self, name: str) -> list[ModelVersionRecord]:
        """Forget a model name with all its versions, aliases and tags; returns the versions."""
        with Session(self._engine) as session:
            if session.get(RegisteredModelRow, name) is None:
                raise NotFound(
                    f"no model named '{name}' (see 'athanor models list')",
                    code="model_not_found",
                    params={"name": name},
                )
            rows = session.scalars(
                select(ModelVersionRow)
                .where(ModelVersionRow.name == name)
                .order_by(ModelVersionRow.version.desc())
            ).all()
            records = self._records(session, name, list(rows))
        with Session(self._engine) as session, session.begin():
            for table in (ModelAliasRow, ModelTagRow, ModelVersionRow):
                session.execute(delete(table).where(table.name == name))
            session.execute(delete(RegisteredModelRow).where(RegisteredModelRow.name == name))
        return records
