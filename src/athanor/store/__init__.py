"""Storage: the metadata database (runs, metrics, models) and the artifact folder."""

from __future__ import annotations

from dataclasses import dataclass

from athanor.settings import Settings, current_settings
from athanor.store.artifacts import ArtifactStore
from athanor.store.audit import AuditEntry, AuditRepository
from athanor.store.database import check_matches_artifacts, dispose_engines, engine_for
from athanor.store.datasets import DatasetRepository, DatasetSummary, DatasetVersionRecord
from athanor.store.deployment_history import DeploymentHistoryRepository, DeploymentMinute
from athanor.store.deployments import DeploymentRecord, DeploymentRepository
from athanor.store.jobs import JobRecord, JobRepository, StopRequest
from athanor.store.labeling import LabelingRepository
from athanor.store.lease import Lease, process_alive
from athanor.store.model_versions import (
    ModelRepository,
    ModelVersionRecord,
    RegisteredModelRecord,
)
from athanor.store.runs import MetricPoint, RunRecord, RunRepository
from athanor.store.status import RunStatus, StatusChange
from athanor.store.tokens import TokenRecord, TokenRepository
from athanor.store.users import UserRecord, UserRepository


@dataclass
class Store:
    """One Athanor home: metadata repositories and the artifact store."""

    settings: Settings
    runs: RunRepository
    models: ModelRepository
    artifacts: ArtifactStore
    datasets: DatasetRepository
    jobs: JobRepository
    tokens: TokenRepository
    deployments: DeploymentRepository
    deployment_history: DeploymentHistoryRepository
    labeling: LabelingRepository
    users: UserRepository
    audit: AuditRepository


def open_artifacts(settings: Settings) -> ArtifactStore:
    """The artifact folder of ``settings``, published to its bucket when it names one.

    Raises:
        UserError: s3fs is missing, or the bucket is missing, refuses the credentials or
            cannot be reached (checked once per process).
    """
    if settings.artifacts_url is None:
        return ArtifactStore(settings.artifacts_dir)
    from athanor.store.bucket import open_bucket

    return ArtifactStore(settings.artifacts_dir, open_bucket(settings.artifacts_url))


def open_store(settings: Settings | None = None) -> Store:
    """Open (creating and migrating if needed) the store of ``settings`` (default: env).

    Raises:
        StoreMismatch: the database is empty or behind the artifact folder (it was lost or
            replaced by an older copy); the message says how to recover.
    """
    settings = settings or current_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = engine_for(settings.db_url)
    artifacts = open_artifacts(settings)
    check_matches_artifacts(engine, artifacts)
    tokens = TokenRepository(engine)
    return Store(
        settings=settings,
        runs=RunRepository(engine, artifacts),
        models=ModelRepository(engine),
        artifacts=artifacts,
        datasets=DatasetRepository(engine),
        jobs=JobRepository(engine, artifacts),
        tokens=tokens,
        deployments=DeploymentRepository(engine),
        deployment_history=DeploymentHistoryRepository(engine),
        labeling=LabelingRepository(engine),
        users=UserRepository(engine, tokens),
        audit=AuditRepository(engine),
    )


__all__ = [
    "ArtifactStore",
    "AuditEntry",
    "AuditRepository",
    "DatasetRepository",
    "DatasetSummary",
    "DatasetVersionRecord",
    "DeploymentHistoryRepository",
    "DeploymentMinute",
    "DeploymentRecord",
    "DeploymentRepository",
    "JobRecord",
    "JobRepository",
    "LabelingRepository",
    "Lease",
    "MetricPoint",
    "ModelRepository",
    "ModelVersionRecord",
    "RegisteredModelRecord",
    "RunRecord",
    "RunRepository",
    "RunStatus",
    "StatusChange",
    "StopRequest",
    "Store",
    "TokenRecord",
    "TokenRepository",
    "UserRecord",
    "UserRepository",
    "dispose_engines",
    "open_artifacts",
    "open_store",
    "process_alive",
]
