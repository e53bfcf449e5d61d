"""Where Athanor keeps its state, read from the environment each time it is asked.

``ATHANOR_HOME`` (default ``~/.athanor``) holds ``athanor.db`` (SQLite), ``artifacts/`` and
``cache/``. ``ATHANOR_DB_URL`` replaces the SQLite file with any SQLAlchemy URL (PostgreSQL).
``ATHANOR_DATA_MIRROR`` names folders (``os.pathsep``-separated) searched by file name for
dataset files before any download. ``ATHANOR_OFFLINE=1`` forbids downloads altogether.
``ATHANOR_TUNE_DB_URL`` replaces ``tuning.db``, the SQLite file of hyperparameter searches.
``ATHANOR_ARTIFACTS_URL=s3://bucket/prefix`` publishes artifacts to an S3-compatible bucket,
``artifacts/`` becoming its local cache.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """Resolved locations of the store, artifacts, caches and dataset mirrors."""

    home: Path
    db_url: str
    data_mirrors: tuple[Path, ...]
    offline: bool = False
    tune_db_url: str | None = None
    """Where searches keep their trials (default ``tuning.db`` in the home)."""
    artifacts_url: str | None = None
    """The S3-compatible bucket artifacts are published to; None keeps them only local."""

    @property
    def artifacts_dir(self) -> Path:
        return self.home / "artifacts"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def tuning_url(self) -> str:
        """The database of hyperparameter searches: kept apart from the metadata database,
        whose schema migrations are Athanor's own."""
        return self.tune_db_url or f"sqlite:///{self.home / 'tuning.db'}"

    @property
    def db_path(self) -> Path | None:
        """The SQLite file, or ``None`` when the store is another database."""
        prefix = "sqlite:///"
        return Path(self.db_url[len(prefix) :]) if self.db_url.startswith(prefix) else None


def current_settings() -> Settings:
    """Read the settings from the environment (cheap; called wherever they are needed)."""
    home = Path(os.environ.get("ATHANOR_HOME") or Path.home() / ".athanor").expanduser()
    db_url = os.environ.get("ATHANOR_DB_URL") or f"sqlite:///{home / 'athanor.db'}"
    mirrors = tuple(
        Path(part).expanduser()
        for part in os.environ.get("ATHANOR_DATA_MIRROR", "").split(os.pathsep)
        if part.strip()
    )
    offline = os.environ.get("ATHANOR_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    return Settings(
        home=home.resolve(),
        db_url=db_url,
        data_mirrors=mirrors,
        offline=offline,
        tune_db_url=os.environ.get("ATHANOR_TUNE_DB_URL") or None,
        artifacts_url=os.environ.get("ATHANOR_ARTIFACTS_URL", "").strip() or None,
    )
