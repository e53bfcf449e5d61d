"""Settings are read from the environment each time."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from athanor.settings import current_settings


def test_defaults_follow_athanor_home(athanor_home: Path) -> None:
    settings = current_settings()
    assert settings.home == athanor_home.resolve()
    assert settings.db_url == f"sqlite:///{athanor_home.resolve() / 'athanor.db'}"
    assert settings.db_path == athanor_home.resolve() / "athanor.db"
    assert settings.artifacts_dir == settings.home / "artifacts"
    assert settings.artifacts_url is None  # artifacts stay local: no bucket is contacted


def test_database_url_and_mirrors_from_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ATHANOR_DB_URL", "postgresql+psycopg://u@127.0.0.1/athanor")
    monkeypatch.setenv("ATHANOR_DATA_MIRROR", f"{tmp_path / 'a'}{os.pathsep}{tmp_path / 'b'}")
    settings = current_settings()
    assert settings.db_path is None
    assert settings.data_mirrors == (tmp_path / "a", tmp_path / "b")


def test_artifact_bucket_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATHANOR_ARTIFACTS_URL", " s3://team-bucket/athanor ")
    assert current_settings().artifacts_url == "s3://team-bucket/athanor"
    monkeypatch.setenv("ATHANOR_ARTIFACTS_URL", "")
    assert current_settings().artifacts_url is None
