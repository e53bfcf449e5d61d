"""The schema is created and versioned by Alembic migrations; SQLite runs in WAL mode."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from athanor.store import open_store
from athanor.store.database import MIGRATIONS_DIR, SCHEMA_HEAD, current_revision, migrate
from athanor.store.tables import Base


def test_schema_head_constant_matches_the_newest_migration() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_HEAD


def test_open_store_creates_a_migrated_sqlite_file_in_wal_mode(athanor_home: Path) -> None:
    open_store()
    db = athanor_home / "athanor.db"
    connection = sqlite3.connect(db)
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone()[0] == (
            SCHEMA_HEAD
        )
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    finally:
        connection.close()
    assert {"runs", "metrics", "registered_models", "model_versions"} <= tables


def test_migrations_produce_exactly_the_declared_tables(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert current_revision(engine) is None
    migrate(engine)
    migrate(engine)  # a second call is a no-op
    assert current_revision(engine) == SCHEMA_HEAD
    inspector = inspect(engine)
    for table in Base.metadata.sorted_tables:
        migrated = {column["name"] for column in inspector.get_columns(table.name)}
        assert migrated == {column.name for column in table.columns}, table.name
    engine.dispose()


def test_upgrading_from_the_first_schema_keeps_models_and_their_numbering(
    tmp_path: Path,
) -> None:
    from alembic import command

    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.exec_driver_sql(
            "INSERT INTO registered_models (name, description, created_at) "
            "VALUES ('m', '', '2026-01-01')"
        )
        for version in (1, 4):
            connection.exec_driver_sql(
                "INSERT INTO model_versions (name, version, path, content_hash, created_at, "
                f"metrics, description) VALUES ('m', {version}, 'p', 'h', '2026-01-01', '{{}}', '')"
            )
    migrate(engine)
    with engine.connect() as connection:
        last = connection.exec_driver_sql("SELECT last_version FROM registered_models").scalar()
    assert last == 4
    engine.dispose()
