"""Registered models and their numbered versions in the metadata database."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from athanor.errors import NotFound
from athanor.store.runs import _aware, utcnow
from athanor.store.tables import ModelVersionRow, RegisteredModelRow


@dataclass(frozen=True)
class ModelVersionRecord:
    """One registered version: where its package lies and where it came from."""

    name: str
    version: int
    run_id: int | None
    path: str
    content_hash: str
    created_at: datetime
    metrics: dict[str, Any]
    description: str

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        data["ref"] = self.ref
        return data

    @classmethod
    def from_row(cls, row: ModelVersionRow) -> ModelVersionRecord:
        return cls(
            name=row.name,
            version=row.version,
            run_id=row.run_id,
            path=row.path,
            content_hash=row.content_hash,
            created_at=_aware(row.created_at),  # type: ignore[arg-type]
            metrics=row.metrics or {},
            description=row.description,
        )


@dataclass(frozen=True)
class RegisteredModelRecord:
    """A model name with a count of its versions and the newest one."""

    name: str
    description: str
    created_at: datetime
    versions: int
    latest: int | None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        return data


class ModelRepository:
    """Allocate version numbers and look versions up."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def next_version(self, name: str) -> int:
        """The number the next registration of ``name`` would get (1 for a new name)."""
        with Session(self._engine) as session:
            current = session.scalar(
                select(func.max(ModelVersionRow.version)).where(ModelVersionRow.name == name)
            )
        return int(current or 0) + 1

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
            with Session(self._engine) as session, session.begin():
                if session.get(RegisteredModelRow, name) is None:
                    session.add(
                        RegisteredModelRow(name=name, description=description, created_at=utcnow())
                    )
                    session.flush()
                session.add(row)
                session.flush()
                return ModelVersionRecord.from_row(row)
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
                    raise NotFound(f"no model named '{name}' (see 'athanor models list')")
                raise NotFound(
                    f"model '{name}' has no version {version}; versions: "
                    + ", ".join(map(str, versions))
                )
            return ModelVersionRecord.from_row(row)

    def versions(self, name: str) -> list[ModelVersionRecord]:
        """Every version of ``name``, newest first."""
        with Session(self._engine) as session:
            rows = session.scalars(
                select(ModelVersionRow)
                .where(ModelVersionRow.name == name)
                .order_by(ModelVersionRow.version.desc())
            ).all()
            if not rows:
                raise NotFound(f"no model named '{name}' (see 'athanor models list')")
            return [ModelVersionRecord.from_row(row) for row in rows]

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
            return [
                RegisteredModelRecord(
                    name=model.name,
                    description=model.description,
                    created_at=_aware(model.created_at),  # type: ignore[arg-type]
                    versions=int(count),
                    latest=latest,
                )
                for model, count, latest in session.execute(query)
            ]
