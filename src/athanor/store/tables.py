"""The metadata schema. Change it only together with a new migration in ``migrations/``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        datetime: DateTime(timezone=True),
    }


class RunRow(Base):
    """One training run: its spec, lifecycle and summary."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    spec: Mapped[dict[str, Any]]
    dataset: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    host: Mapped[str] = mapped_column(String(255), default="")
    pid: Mapped[int | None]
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # When the run was moved to the archive (hidden from lists, restorable); null: it is not.
    archived_at: Mapped[datetime | None] = mapped_column(index=True)


class MetricRow(Base):
    """One value of one metric at one step of a run (e.g. ``val_loss`` after epoch 3)."""

    __tablename__ = "metrics"
    __table_args__ = (Index("ix_metrics_run_name_step", "run_id", "name", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    step: Mapped[int]
    epoch: Mapped[int]
    value: Mapped[float] = mapped_column(Float)
    recorded_at: Mapped[float] = mapped_column(Float)


class RegisteredModelRow(Base):
    """A model name; its versions are :class:`ModelVersionRow`."""

    __tablename__ = "registered_models"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    # The highest version number ever given, so that a deleted version's number is never reused.
    last_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ModelVersionRow(Base):
    """One immutable version of a registered model: a package folder and its lineage."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_model_versions_name_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(
        ForeignKey("registered_models.name", ondelete="CASCADE"), index=True
    )
    version: Mapped[int]
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    path: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    description: Mapped[str] = mapped_column(Text, default="")


class DatasetRow(Base):
    """An imported dataset's name; its immutable versions are :class:`DatasetVersionRow`."""

    __tablename__ = "datasets"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    # The highest version number ever given, so that a deleted version's number is never reused.
    last_number: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class DatasetVersionRow(Base):
    """One imported version: its content hash, where its files lie, and what it holds."""

    __tablename__ = "dataset_versions"
    __table_args__ = (
        UniqueConstraint("name", "number", name="uq_dataset_versions_name_number"),
        UniqueConstraint("name", "content_hash", name="uq_dataset_versions_name_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(ForeignKey("datasets.name", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    task: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text, default="")
    rows: Mapped[int]
    # 64-bit: PostgreSQL's INTEGER stops at 2 GiB (SQLite's integers are 64-bit anyway).
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ModelAliasRow(Base):
    """A movable name (``production``, ``staging``...) pointing at one version of a model."""

    __tablename__ = "model_aliases"

    name: Mapped[str] = mapped_column(
        ForeignKey("registered_models.name", ondelete="CASCADE"), primary_key=True
    )
    alias: Mapped[str] = mapped_column(String(100), primary_key=True)
    version: Mapped[int]
    updated_at: Mapped[datetime]


class ModelTagRow(Base):
    """A ``key=value`` tag on one version of a model."""

    __tablename__ = "model_version_tags"
    __table_args__ = (
        ForeignKeyConstraint(
            ["name", "version"],
            ["model_versions.name", "model_versions.version"],
            ondelete="CASCADE",
            name="fk_model_version_tags_version",
        ),
    )

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


class JobRow(Base):
    """How a run is scheduled as a job: resources, priority, its worker, progress and restarts.

    A job is its run (same id); each attempt continues the same run from its last checkpoint.
    """

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_priority_run", "priority", "run_id"),)

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    priority: Mapped[int]
    resources: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    max_restarts: Mapped[int]
    restarts: Mapped[int] = mapped_column(Integer, default=0)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    stop_timeout: Mapped[float] = mapped_column(Float)
    submitted_by: Mapped[str] = mapped_column(String(100), default="")
    submitted_at: Mapped[datetime]
    wait_reason: Mapped[str] = mapped_column(Text, default="")
    worker_pid: Mapped[int | None]
    worker_host: Mapped[str] = mapped_column(String(255), default="")
    devices: Mapped[list[int]] = mapped_column(JSON, default=list)
    placed_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    stop_request: Mapped[str | None] = mapped_column(String(16))
    stop_reason: Mapped[str] = mapped_column(Text, default="")
    stop_requested_at: Mapped[datetime | None]
    stop_signalled_at: Mapped[datetime | None]
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attempts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class ApiTokenRow(Base):
    """A token for the REST API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # The user the token acts for (a name, not a key: a removed user's revoked tokens stay).
    user_name: Mapped[str] = mapped_column(String(100), default="owner", server_default="owner")


class UserRow(Base):
    """A person or program with a role: ``admin``, ``editor`` or ``viewer``."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100), default="")


class AuditRow(Base):
    """One write: who did it, when, what, to which object."""

    __tablename__ = "audit"
    __table_args__ = (Index("ix_audit_user_at", "user_name", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    user_name: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    object_kind: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(250))
    detail: Mapped[str] = mapped_column(Text, default="")


class DeploymentRow(Base):
    """A model served by the platform: what it serves, how, and whether it should run."""

    __tablename__ = "deployments"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    model: Mapped[str] = mapped_column(String(220))
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class DeploymentMinuteRow(Base):
    """What one deployment answered in one minute, and a sketch of the inputs it was sent."""

    __tablename__ = "deployment_minutes"
    __table_args__ = (Index("ix_deployment_minutes_minute", "minute"),)

    deployment: Mapped[str] = mapped_column(
        ForeignKey("deployments.name", ondelete="CASCADE"), primary_key=True
    )
    minute: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    """Minutes since the Unix epoch (UTC)."""
    requests: Mapped[int] = mapped_column(Integer, default=0)
    client_errors: Mapped[int] = mapped_column(Integer, default=0)
    server_errors: Mapped[int] = mapped_column(Integer, default=0)
    p50_ms: Mapped[float | None] = mapped_column(Float)
    p95_ms: Mapped[float | None] = mapped_column(Float)
    p99_ms: Mapped[float | None] = mapped_column(Float)
    # The latency histogram ({bin: count}, 5 %-wide log bins) so that longer windows merge
    # minutes into exact-to-the-bin percentiles rather than averaging percentiles.
    latency_bins: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Per feature (or channel) count, sum and sum of squares of the standardized inputs.
    inputs: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class LabelProjectRow(Base):
    """A labeling project on an imported dataset version: its label set and instructions."""

    __tablename__ = "label_projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    dataset: Mapped[str] = mapped_column(String(220))
    kind: Mapped[str] = mapped_column(String(16))
    labels: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    instructions: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime]
    training: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class LabelItemRow(Base):
    """One item of a project: its current label, who made it, and the model's pre-label."""

    __tablename__ = "label_items"
    __table_args__ = (
        Index("ix_label_items_project_label", "project_id", "label"),
        Index("ix_label_items_project_least", "project_id", "uncertainty_least"),
    )

    project_id: Mapped[int] = mapped_column(
        ForeignKey("label_projects.id", ondelete="CASCADE"), primary_key=True
    )
    item: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(300), default="")
    label: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str | None] = mapped_column(String(8))
    labeled_by: Mapped[str | None] = mapped_column(String(100))
    labeled_at: Mapped[datetime | None]
    review: Mapped[str | None] = mapped_column(String(8))
    predicted: Mapped[str | None] = mapped_column(String(100))
    confidence: Mapped[float | None] = mapped_column(Float)
    uncertainty_least: Mapped[float | None] = mapped_column(Float)
    uncertainty_margin: Mapped[float | None] = mapped_column(Float)
    uncertainty_entropy: Mapped[float | None] = mapped_column(Float)
    model: Mapped[str | None] = mapped_column(String(220))
    # Box projects: the image's size, the boxes (the label) and the model's boxes.
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    boxes: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    predicted_boxes: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)


class LabelVoteRow(Base):
    """A person's latest label of an item (for agreement between labelers)."""

    __tablename__ = "label_votes"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("label_projects.id", ondelete="CASCADE"), primary_key=True
    )
    item: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    labeled_by: Mapped[str] = mapped_column(String(100), primary_key=True)
    label: Mapped[str] = mapped_column(String(100))
    labeled_at: Mapped[datetime]
    boxes: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    """In a box project, the person's boxes (``label`` is then the boxes marker)."""
