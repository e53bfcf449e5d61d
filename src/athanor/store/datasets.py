"""Imported datasets and their immutable, content-addressed versions in the metadata database.

A version is numbered per name (1, 2, ...) and named by the SHA-256 of its content; the
same content imported again under the same name is the same version.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from athanor.errors import DatasetNotFound
from athanor.store.runs import _aware, utcnow
from athanor.store.tables import DatasetRow, DatasetVersionRow

SHORT_HASH = 12
"""Characters of the content hash shown as a version's name."""


@dataclass(frozen=True)
class DatasetVersionRecord:
    """One imported version of a dataset."""

    name: str
    number: int
    content_hash: str
    kind: str
    task: str
    path: str
    source: str
    rows: int
    size_bytes: int
    created_at: datetime
    info: dict[str, Any]

    @property
    def short_hash(self) -> str:
        return self.content_hash[:SHORT_HASH]

    @property
    def ref(self) -> str:
        """``name@<short hash>``: names this exact content."""
        return f"{self.name}@{self.short_hash}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        data["ref"] = self.ref
        data["version"] = self.short_hash
        return data

    @classmethod
    def from_row(cls, row: DatasetVersionRow) -> DatasetVersionRecord:
        return cls(
            name=row.name,
            number=row.number,
            content_hash=row.content_hash,
            kind=row.kind,
            task=row.task,
            path=row.path,
            source=row.source,
            rows=row.rows,
            size_bytes=row.size_bytes,
            created_at=_aware(row.created_at),  # type: ignore[arg-type]
            info=row.info or {},
        )


@dataclass(frozen=True)
class DatasetSummary:
    """An imported dataset name with its number of versions and its newest one."""

    name: str
    versions: int
    latest: DatasetVersionRecord

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "versions": self.versions, "latest": self.latest.to_json()}


class DatasetRepository:
    """Record, find and list dataset versions."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def find(self, name: str, content_hash: str) -> DatasetVersionRecord | None:
        """The version of ``name`` with exactly this content, if it was imported before."""
        with Session(self._engine) as session:
            row = session.scalars(
                select(DatasetVersionRow).where(
                    DatasetVersionRow.name == name, DatasetVersionRow.content_hash == content_hash
                )
            ).first()
            return DatasetVersionRecord.from_row(row) if row is not None else None

    def uses_of(self, path: str) -> int:
        """How many versions (of any name) point at the artifact folder ``path``."""
        with Session(self._engine) as session:
            return int(
                session.scalar(
                    select(func.count(DatasetVersionRow.id)).where(DatasetVersionRow.path == path)
                )
                or 0
            )

    def add_version(
        self,
        name: str,
        *,
        content_hash: str,
        kind: str,
        task: str,
        path: str,
        source: str,
        rows: int,
        size_bytes: int,
        info: dict[str, Any],
    ) -> tuple[DatasetVersionRecord, bool]:
        """Record a version of ``name`` (creating the name on first use).

        Returns:
            The version and whether it is new (False: this content was already imported
            under ``name``, and that version is returned).
        """
        for _attempt in range(10):
            existing = self.find(name, content_hash)
            if existing is not None:
                return existing, False
            try:
                with Session(self._engine) as session, session.begin():
                    dataset = session.get(DatasetRow, name)
                    if dataset is None:
                        dataset = DatasetRow(name=name, description="", created_at=utcnow())
                        session.add(dataset)
                        session.flush()
                    number = int(
                        session.scalar(
                            select(func.max(DatasetVersionRow.number)).where(
                                DatasetVersionRow.name == name
                            )
                        )
                        or 0
                    )
                    number = max(number, dataset.last_number or 0)
                    row = DatasetVersionRow(
                        name=name,
                        number=number + 1,
                        content_hash=content_hash,
                        kind=kind,
                        task=task,
                        path=path,
                        source=source,
                        rows=rows,
                        size_bytes=size_bytes,
                        created_at=utcnow(),
                        info=info,
                    )
                    session.add(row)
                    session.flush()
                    return DatasetVersionRecord.from_row(row), True
            except IntegrityError:
                continue  # another process recorded a version at the same moment
        raise RuntimeError(f"could not record a version of dataset '{name}'")

    def exists(self, name: str) -> bool:
        with Session(self._engine) as session:
            return session.get(DatasetRow, name) is not None

    def get(self, name: str, version: str | None = None) -> DatasetVersionRecord:
        """Version ``version`` of ``name``: a number, a content-hash prefix, or the newest.

        Raises:
            DatasetNotFound: no such dataset or version, naming what exists.
        """
        with Session(self._engine) as session:
            rows = session.scalars(
                select(DatasetVersionRow)
                .where(DatasetVersionRow.name == name)
                .order_by(DatasetVersionRow.number.desc())
            ).all()
            records = [DatasetVersionRecord.from_row(row) for row in rows]
        if not records:
            raise DatasetNotFound(
                f"no dataset named '{name}' (see 'athanor data list' and 'athanor data catalog')",
                params={"name": name, "suggestion": ""},
            )
        if version is None or version == "latest":
            return records[0]
        chosen = [r for r in records if version.isdigit() and r.number == int(version)]
        if not chosen and len(version) >= 4:
            chosen = [r for r in records if r.content_hash.startswith(version.lower())]
        if len(chosen) == 1:
            return chosen[0]
        known = ", ".join(f"{r.number} ({r.short_hash})" for r in records)
        problem = "matches several versions" if chosen else "is not a version"
        raise DatasetNotFound(
            f"'{name}@{version}' {problem} of dataset '{name}'; versions: {known}",
            params={"name": f"{name}@{version}", "suggestion": ""},
        )

    def versions(self, name: str) -> list[DatasetVersionRecord]:
        """Every version of ``name``, newest first."""
        with Session(self._engine) as session:
            rows = session.scalars(
                select(DatasetVersionRow)
                .where(DatasetVersionRow.name == name)
                .order_by(DatasetVersionRow.number.desc())
            ).all()
            return [DatasetVersionRecord.from_row(row) for row in rows]

    def list(self) -> list[DatasetSummary]:
        """Every imported dataset with its newest version, by name."""
        with Session(self._engine) as session:
            rows = session.scalars(
                select(DatasetVersionRow).order_by(
                    DatasetVersionRow.name, DatasetVersionRow.number.desc()
                )
            ).all()
            records = [DatasetVersionRecord.from_row(row) for row in rows]
        summaries: dict[str, DatasetSummary] = {}
        for record in records:
            if record.name in summaries:
                summary = summaries[record.name]
                summaries[record.name] = DatasetSummary(
                    summary.name, summary.versions + 1, summary.latest
                )
            else:
                summaries[record.name] = DatasetSummary(record.name, 1, record)
        return list(summaries.values())

    def delete_version(self, name: str, number: int) -> DatasetVersionRecord:
        """Forget version ``number`` of ``name``; the name goes too with its last version.

        Raises:
            DatasetNotFound: no such version.
        """
        with Session(self._engine) as session, session.begin():
            row = session.scalars(
                select(DatasetVersionRow).where(
                    DatasetVersionRow.name == name, DatasetVersionRow.number == number
                )
            ).first()
            if row is None:
                raise DatasetNotFound(f"dataset '{name}' has no version {number}")
            record = DatasetVersionRecord.from_row(row)
            dataset = session.get(DatasetRow, name)
            if dataset is not None:
                dataset.last_number = max(dataset.last_number or 0, number)
            session.delete(row)
            session.flush()
            left = session.scalar(
                select(func.count(DatasetVersionRow.id)).where(DatasetVersionRow.name == name)
            )
            if not left:
                session.execute(delete(DatasetRow).where(DatasetRow.name == name))
            return record
