"""The schema is created and versioned by Alembic migrations; SQLite runs in WAL mode."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from athanor.settings import current_settings
from athanor.store import open_store
from athanor.store.database import (
    IDLE_IN_TRANSACTION_SECONDS,
    MIGRATIONS_DIR,
    SCHEMA_HEAD,
    current_revision,
    dump_json,
    engine_for,
    load_json,
    migrate,
    write_session,
)
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


def test_migrations_on_postgresql_match_the_declared_schema(postgres_server) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    name = postgres_server.create_database()  # empty: migrated here from nothing
    engine = create_engine(postgres_server.url(name))
    try:
        assert current_revision(engine) is None
        migrate(engine)
        migrate(engine)
        assert current_revision(engine) == SCHEMA_HEAD
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            columns = {c["name"]: c for c in inspect(connection).get_columns("dataset_versions")}
        assert str(columns["size_bytes"]["type"]) == "BIGINT"
    finally:
        engine.dispose()
        postgres_server.drop_database(name)


def test_json_keeps_non_finite_numbers_on_both_databases(backend: str) -> None:
    store = open_store()
    run = store.runs.create({"lr": float("inf")}, name="nan")
    store.runs.update(run.id, summary={"metrics": {"val_loss": float("nan")}, "best": -math.inf})
    again = store.runs.get(run.id)
    assert math.isnan(again.summary["metrics"]["val_loss"]) and again.summary["best"] == -math.inf
    assert again.spec == {"lr": math.inf}
    assert dump_json({"a": [math.nan]}) == '{"a": [{"$float": "NaN"}]}'
    assert load_json('{"$float": "x", "other": 1}') == {"$float": "x", "other": 1}


def test_write_sessions_take_turns_on_sqlite(athanor_home: Path) -> None:
    store = open_store()
    engine = engine_for(current_settings().db_url)
    with write_session(engine) as session:
        assert session.connection().exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        other = sqlite3.connect(athanor_home / "athanor.db", timeout=0.1)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()
    assert store.runs.count() == 0


def test_postgresql_ends_a_session_idle_in_a_transaction_so_no_lost_worker_holds_locks(
    postgres_url: str,
) -> None:
    engine = engine_for(postgres_url)
    with engine.connect() as connection:
        shown = connection.exec_driver_sql("SHOW idle_in_transaction_session_timeout").scalar()
    assert shown == f"{IDLE_IN_TRANSACTION_SECONDS // 60}min"
