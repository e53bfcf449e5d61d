"""Labeling projects in the metadata database: projects, items and each person's labels.

An item's current label (``label``, with ``source`` person/model, who and when, and its
``review``) and the model's pre-label (``predicted`` with its confidence and uncertainty by
three measures) live on one row; each person's latest label of an item is kept apart as a
vote, so that two people labeling the same item can be compared.

In a project that labels boxes (kind ``detection``) an item's label is its list of boxes
(``boxes``: class name, pixel ``xyxy``, optional ``polygon`` and, from a model, ``score``) and
the ``label`` column holds :data:`BOXES_LABEL` once the boxes are confirmed (an empty list says
"nothing to box here"); the model's boxes are ``predicted_boxes`` with ``predicted`` set the
same way, so every state, filter and "accept" works for both kinds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Engine, and_, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from athanor.errors import Conflict, NotFound
from athanor.store.runs import _aware, utcnow
from athanor.store.tables import LabelItemRow, LabelProjectRow, LabelVoteRow

STATES = ("all", "unlabeled", "prelabeled", "labeled", "rejected")
STRATEGIES = ("least", "margin", "entropy")
BOXES_LABEL = "[boxes]"
"""The ``label`` of an item of a box project whose boxes are set (not a class name)."""


@dataclass(frozen=True)
class LabelProjectRecord:
    """A labeling project as stored."""

    id: int
    name: str
    dataset: str
    kind: str
    labels: list[dict[str, Any]]
    instructions: str
    created_by: str
    created_at: datetime
    training: dict[str, Any]

    @property
    def label_names(self) -> list[str]:
        return [label["name"] for label in self.labels]

    @classmethod
    def from_row(cls, row: LabelProjectRow) -> LabelProjectRecord:
        return cls(
            id=row.id,
            name=row.name,
            dataset=row.dataset,
            kind=row.kind,
            labels=list(row.labels or []),
            instructions=row.instructions,
            created_by=row.created_by,
            created_at=_aware(row.created_at),  # type: ignore[arg-type]
            training=dict(row.training or {}),
        )


@dataclass(frozen=True)
class LabelItemRecord:
    """One item: its label and the model's pre-label."""

    item: int
    name: str
    label: str | None
    source: str | None
    labeled_by: str | None
    labeled_at: datetime | None
    review: str | None
    predicted: str | None
    confidence: float | None
    uncertainty: dict[str, float] | None
    model: str | None
    width: int | None = None
    height: int | None = None
    boxes: list[dict[str, Any]] | None = None
    predicted_boxes: list[dict[str, Any]] | None = None

    @classmethod
    def from_row(cls, row: LabelItemRow) -> LabelItemRecord:
        uncertainty = None
        if row.predicted is not None:
            uncertainty = {
                "least": float(row.uncertainty_least or 0.0),
                "margin": float(row.uncertainty_margin or 0.0),
                "entropy": float(row.uncertainty_entropy or 0.0),
            }
        return cls(
            item=row.item,
            name=row.name,
            label=row.label,
            source=row.source,
            labeled_by=row.labeled_by,
            labeled_at=_aware(row.labeled_at) if row.labeled_at else None,
            review=row.review,
            predicted=row.predicted,
            confidence=row.confidence,
            uncertainty=uncertainty,
            model=row.model,
            width=row.width,
            height=row.height,
            boxes=list(row.boxes) if row.boxes is not None else None,
            predicted_boxes=list(row.predicted_boxes) if row.predicted_boxes is not None else None,
        )


@dataclass(frozen=True)
class Prelabel:
    """A model's answer for one item."""

    item: int
    label: str
    confidence: float
    least: float
    margin: float
    entropy: float
    boxes: list[dict[str, Any]] | None = None
    """A detector's boxes (``label`` is then :data:`BOXES_LABEL`)."""


def _state_filter(state: str) -> Any:
    c = LabelItemRow
    rejected = c.review == "rejected"
    not_rejected = or_(c.review.is_(None), c.review != "rejected")
    return {
        "all": None,
        "unlabeled": and_(c.label.is_(None), c.predicted.is_(None), not_rejected),
        "prelabeled": and_(c.label.is_(None), c.predicted.is_not(None), not_rejected),
        "labeled": and_(c.label.is_not(None), not_rejected),
        "rejected": rejected,
    }[state]


class LabelingRepository:
    """Create projects, page through items, and record labels and pre-labels."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # -- projects ---------------------------------------------------------------------

    def create_project(
        self,
        name: str,
        *,
        dataset: str,
        kind: str,
        labels: list[dict[str, Any]],
        instructions: str,
        created_by: str,
        items: Sequence[tuple[str, str | None]],
        images: Sequence[dict[str, Any]] | None = None,
    ) -> LabelProjectRecord:
        """Record a project and its items (name, imported label or None), ids 0..N-1.

        ``images`` (box projects) gives each item's ``width``, ``height`` and imported
        ``boxes`` (or None), in the order of ``items``.

        Raises:
            Conflict: a project with this name exists.
        """
        now = utcnow()
        with Session(self._engine) as session, session.begin():
            exists = session.scalar(select(LabelProjectRow.id).where(LabelProjectRow.name == name))
            if exists is not None:
                raise Conflict(
                    f"a labeling project named {name!r} exists; choose another name or use it",
                    code="name_taken",
                    params={"name": name},
                    field="name",
                )
            row = LabelProjectRow(
                name=name,
                dataset=dataset,
                kind=kind,
                labels=labels,
                instructions=instructions,
                created_by=created_by,
                created_at=now,
                training={},
            )
            session.add(row)
            session.flush()
            rows = [
                {
                    "project_id": row.id,
                    "item": index,
                    "name": item_name[:300],
                    "label": label,
                    "source": "person" if label is not None else None,
                    "labeled_by": "imported" if label is not None else None,
                    "labeled_at": now if label is not None else None,
                    **(images[index] if images is not None else {}),
                }
                for index, (item_name, label) in enumerate(items)
            ]
            for start in range(0, len(rows), 5000):
                session.execute(insert(LabelItemRow), rows[start : start + 5000])
            return LabelProjectRecord.from_row(row)

    def get_project(self, name: str) -> LabelProjectRecord:
        """Raises: NotFound naming the projects there are."""
        with Session(self._engine) as session:
            row = session.scalar(select(LabelProjectRow).where(LabelProjectRow.name == name))
            if row is None:
                names = session.scalars(select(LabelProjectRow.name)).all()
                raise NotFound(
                    f"no labeling project named {name!r}; projects: "
                    f"{', '.join(sorted(names)) or 'none (create one with athanor label create)'}",
                    code="label_project_not_found",
                    params={"name": name},
                )
            return LabelProjectRecord.from_row(row)

    def list_projects(self) -> list[LabelProjectRecord]:
        with Session(self._engine) as session:
            rows = session.scalars(select(LabelProjectRow).order_by(LabelProjectRow.name))
            return [LabelProjectRecord.from_row(row) for row in rows]

    def update_project(self, project_id: int, **values: Any) -> None:
        """Set ``labels``, ``instructions`` or ``training`` of a project."""
        with Session(self._engine) as session, session.begin():
            session.execute(
                update(LabelProjectRow).where(LabelProjectRow.id == project_id).values(**values)
            )

    def find_by_training_job(self, job_id: int) -> LabelProjectRecord | None:
        """The project whose "train from labels" job is ``job_id``, if any."""
        for project in self.list_projects():
            if project.training.get("job_id") == job_id:
                return project
        return None

    # -- items ------------------------------------------------------------------------

    def counts(self, project_id: int) -> dict[str, Any]:
        """Items in total and per state, and labeled items per class."""
        with Session(self._engine) as session:
            counts: dict[str, Any] = {}
            for state in STATES:
                query = select(func.count()).where(LabelItemRow.project_id == project_id)
                condition = _state_filter(state)
                if condition is not None:
                    query = query.where(condition)
                counts["total" if state == "all" else state] = int(session.scalar(query) or 0)
            per_class = session.execute(
                select(LabelItemRow.label, func.count())
                .where(LabelItemRow.project_id == project_id, _state_filter("labeled"))
                .group_by(LabelItemRow.label)
            ).all()
            counts["per_class"] = {label: int(n) for label, n in per_class}
            if BOXES_LABEL in counts["per_class"]:
                counts["per_class"] = self._boxes_per_class(session, project_id)
                counts["boxes"] = sum(counts["per_class"].values())
            return counts

    @staticmethod
    def _boxes_per_class(session: Session, project_id: int) -> dict[str, int]:
        """Confirmed boxes per class of a box project (its items' labels are box lists)."""
        per_class: dict[str, int] = {}
        rows = session.scalars(
            select(LabelItemRow.boxes).where(
                LabelItemRow.project_id == project_id, _state_filter("labeled")
            )
        )
        for boxes in rows:
            for box in boxes or []:
                per_class[box["class"]] = per_class.get(box["class"], 0) + 1
        return per_class

    def items(
        self,
        project_id: int,
        *,
        state: str = "all",
        sort: str = "index",
        strategy: str = "least",
        label: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[int, list[LabelItemRecord]]:
        """A page of items and how many match; ``sort=uncertainty`` puts the most uncertain
        pre-labels first (by ``strategy``), items without one last."""
        c = LabelItemRow
        conditions = [c.project_id == project_id]
        condition = _state_filter(state)
        if condition is not None:
            conditions.append(condition)
        if label is not None:
            conditions.append(or_(c.label == label, and_(c.label.is_(None), c.predicted == label)))
        with Session(self._engine) as session:
            total = int(session.scalar(select(func.count()).where(*conditions)) or 0)
            query = select(c).where(*conditions)
            if sort == "uncertainty":
                column = getattr(c, f"uncertainty_{strategy}")
                query = query.order_by(column.is_(None), column.desc(), c.item)
            else:
                query = query.order_by(c.item)
            rows = session.scalars(query.offset(offset).limit(limit)).all()
            return total, [LabelItemRecord.from_row(row) for row in rows]

    def get_items(self, project_id: int, ids: Iterable[int] | None = None) -> list[LabelItemRecord]:
        """The items ``ids`` (default: all), by id."""
        with Session(self._engine) as session:
            query = select(LabelItemRow).where(LabelItemRow.project_id == project_id)
            if ids is not None:
                query = query.where(LabelItemRow.item.in_(list(ids)))
            rows = session.scalars(query.order_by(LabelItemRow.item)).all()
            return [LabelItemRecord.from_row(row) for row in rows]

    def size(self, project_id: int) -> int:
        with Session(self._engine) as session:
            return int(
                session.scalar(select(func.count()).where(LabelItemRow.project_id == project_id))
                or 0
            )

    def set_labels(
        self,
        project_id: int,
        changes: Sequence[dict[str, Any]],
        *,
        by: str,
        source: str = "person",
        vote: bool = True,
    ) -> int:
        """Apply ``{item, label, review?, boxes?}`` changes made by ``by``; returns how many.

        A person's label is also kept as their vote on the item (for agreement). The changes
        are applied in one transaction, as a few bulk statements.
        """
        now = utcnow()
        table = LabelItemRow.__table__
        rows = [
            {
                "b_item": change["item"],
                "b_label": change["label"],
                "b_source": source if change["label"] is not None else None,
                "b_by": by if change["label"] is not None else None,
                "b_at": now if change["label"] is not None else None,
                "b_review": change.get("review"),
                "b_boxes": change.get("boxes"),
            }
            for change in changes
        ]
        with Session(self._engine) as session, session.begin():
            connection = session.connection()
            if rows:
                connection.execute(
                    update(table)
                    .where(table.c.project_id == project_id, table.c.item == _bind("b_item"))
                    .values(
                        label=_bind("b_label"),
                        source=_bind("b_source"),
                        labeled_by=_bind("b_by"),
                        labeled_at=_bind("b_at"),
                        review=_bind("b_review"),
                        boxes=_bind("b_boxes", JSON),
                    ),
                    rows,
                )
            if vote and source == "person" and rows:
                votes = LabelVoteRow.__table__
                connection.execute(
                    delete(votes).where(
                        votes.c.project_id == project_id,
                        votes.c.item == _bind("b_item"),
                        votes.c.labeled_by == by,
                    ),
                    [{"b_item": row["b_item"]} for row in rows],
                )
                latest = {
                    c["item"]: (c["label"], c.get("boxes"))
                    for c in changes
                    if c["label"] is not None
                }  # the last change of an item given twice wins
                if latest:
                    connection.execute(
                        insert(votes),
                        [
                            {
                                "project_id": project_id,
                                "item": item,
                                "labeled_by": by,
                                "label": label,
                                "labeled_at": now,
                                "boxes": boxes,
                            }
                            for item, (label, boxes) in latest.items()
                        ],
                    )
            return len(changes)

    def set_review(self, project_id: int, items: Sequence[int], review: str | None) -> int:
        """Set the review state of items, leaving their labels."""
        with Session(self._engine) as session, session.begin():
            result = session.execute(
                update(LabelItemRow)
                .where(LabelItemRow.project_id == project_id, LabelItemRow.item.in_(list(items)))
                .values(review=review)
            )
            return int(result.rowcount or 0)

    def set_prelabels(self, project_id: int, prelabels: Sequence[Prelabel], model: str) -> int:
        """Record a model's answers for items (over any earlier pre-label)."""
        with Session(self._engine) as session, session.begin():
            for start in range(0, len(prelabels), 2000):
                chunk = prelabels[start : start + 2000]
                session.connection().execute(
                    update(LabelItemRow.__table__)
                    .where(
                        LabelItemRow.__table__.c.project_id == project_id,
                        LabelItemRow.__table__.c.item == _bind("b_item"),
                    )
                    .values(
                        predicted=_bind("b_label"),
                        confidence=_bind("b_confidence"),
                        uncertainty_least=_bind("b_least"),
                        uncertainty_margin=_bind("b_margin"),
                        uncertainty_entropy=_bind("b_entropy"),
                        predicted_boxes=_bind("b_boxes", JSON),
                        model=model,
                    ),
                    [
                        {
                            "b_item": p.item,
                            "b_label": p.label,
                            "b_confidence": p.confidence,
                            "b_least": p.least,
                            "b_margin": p.margin,
                            "b_entropy": p.entropy,
                            "b_boxes": p.boxes,
                        }
                        for p in chunk
                    ],
                )
            return len(prelabels)

    def accept_prelabels(
        self, project_id: int, *, ids: Sequence[int] | None, min_confidence: float | None, by: str
    ) -> int:
        """Make pre-labels of unlabeled items labels (source model, review accepted)."""
        c = LabelItemRow
        conditions = [c.project_id == project_id, c.label.is_(None), c.predicted.is_not(None)]
        conditions.append(or_(c.review.is_(None), c.review != "rejected"))
        if ids is not None:
            conditions.append(c.item.in_(list(ids)))
        if min_confidence is not None:
            conditions.append(c.confidence >= min_confidence)
        with Session(self._engine) as session, session.begin():
            result = session.execute(
                update(c)
                .where(*conditions)
                .values(
                    label=c.predicted,
                    boxes=c.predicted_boxes,
                    source="model",
                    labeled_by=by,
                    labeled_at=utcnow(),
                    review="accepted",
                )
            )
            return int(result.rowcount or 0)

    def votes(self, project_id: int) -> list[tuple[int, str, str]]:
        """Every person's label of every item: ``(item, by, label)``."""
        with Session(self._engine) as session:
            rows = session.execute(
                select(LabelVoteRow.item, LabelVoteRow.labeled_by, LabelVoteRow.label).where(
                    LabelVoteRow.project_id == project_id
                )
            ).all()
            return [(int(i), str(b), str(lab)) for i, b, lab in rows]

    def box_votes(self, project_id: int) -> list[tuple[int, str, list[dict[str, Any]]]]:
        """Every person's boxes of every item of a box project: ``(item, by, boxes)``."""
        with Session(self._engine) as session:
            rows = session.execute(
                select(LabelVoteRow.item, LabelVoteRow.labeled_by, LabelVoteRow.boxes).where(
                    LabelVoteRow.project_id == project_id, LabelVoteRow.boxes.is_not(None)
                )
            ).all()
            return [(int(i), str(b), list(boxes)) for i, b, boxes in rows]


def _bind(name: str, type_: Any = None) -> Any:
    from sqlalchemy import bindparam

    return bindparam(name, type_=type_)
