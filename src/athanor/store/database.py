"""Engine creation and schema migration of the metadata database.

SQLite (the default) runs in WAL mode with a busy timeout so that a training process, the CLI
and the server can share the file. Any SQLAlchemy URL works (``postgresql+psycopg://...``).
The schema is created and upgraded by Alembic migrations shipped in ``migrations/``; the
version check is a single query, and Alembic is imported only when an upgrade is due.

A database can be lost while its artifacts survive (a deleted file, a ``-wal`` file lost after
a kill, an older copy put back). Such a database would hand out run ids again, over other
runs' artifact folders; :func:`check_matches_artifacts` refuses it instead.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.orm import Session

from athanor.errors import StoreMismatch
from athanor.store.artifacts import ArtifactStore

SCHEMA_HEAD = "0010"
"""The newest migration's revision; a test keeps it equal to Alembic's head."""

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def _configure_sqlite(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


NON_FINITE_KEY = "$float"
"""PostgreSQL's ``json`` refuses NaN and Infinity, which Python's JSON (and SQLite) accept: such
a number is stored as ``{"$float": "NaN"}`` and read back as the float it was."""


def _tag_non_finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return {NON_FINITE_KEY: repr(value).replace("inf", "Infinity").replace("nan", "NaN")}
    if isinstance(value, dict):
        return {key: _tag_non_finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_tag_non_finite(item) for item in value]
    return value


def _untag_non_finite(document: dict[str, Any]) -> Any:
    if len(document) == 1 and NON_FINITE_KEY in document:
        return float(document[NON_FINITE_KEY])
    return document


def dump_json(value: Any) -> str:
    """JSON for PostgreSQL: standard JSON, with non-finite floats tagged (see above)."""
    try:
        return json.dumps(value, allow_nan=False)
    except ValueError:  # a NaN or an infinity somewhere: rare, so only then walk the value
        return json.dumps(_tag_non_finite(value), allow_nan=False)


def load_json(text: str | bytes) -> Any:
    """The inverse of :func:`dump_json`."""
    return json.loads(text, object_hook=_untag_non_finite)


IDLE_IN_TRANSACTION_SECONDS = 60
"""PostgreSQL ends a session idle this long inside a transaction, releasing its locks."""


def engine_for(url: str) -> Engine:
    """The process-wide engine for ``url``, created and migrated on first use."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            if url.startswith("sqlite:///"):
                Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
                engine = create_engine(url, connect_args={"timeout": 30})
                event.listen(engine, "connect", _configure_sqlite)
            elif url.startswith("postgresql"):
                engine = create_engine(
                    url,
                    pool_pre_ping=True,
                    json_serializer=dump_json,
                    json_deserializer=load_json,
                    # A process frozen or cut off in the middle of a transaction (a worker
                    # machine of the team lost) would hold its row locks, and the platform
                    # waiting on them, until its connection dies; the server ends such a
                    # session instead. No transaction of Athanor idles for this long.
                    connect_args={
                        "options": "-c idle_in_transaction_session_timeout="
                        f"{IDLE_IN_TRANSACTION_SECONDS * 1000}"
                    },
                )
            else:
                engine = create_engine(url, pool_pre_ping=True)
            migrate(engine)
            _engines[url] = engine
        return engine


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A session in a transaction that reads rows, compares them and writes them back.

    Without care both databases lose updates here. SQLite's Python driver begins a
    transaction only at the first write, so what was read before may have changed; this
    transaction takes SQLite's write lock at its start instead (``BEGIN IMMEDIATE``, waiting
    up to the busy timeout), and other writers wait. PostgreSQL isolates each statement
    only: callers lock the rows they read with ``FOR UPDATE`` (``with_for_update=True``,
    which SQLite ignores), in one order (a run's row before its job's).
    """
    with Session(engine) as session, session.begin():
        if engine.dialect.name == "sqlite":
            session.connection().exec_driver_sql("BEGIN IMMEDIATE")
        yield session


def dispose_engines() -> None:
    """Close every pooled connection (tests and forked workers call this)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def current_revision(engine: Engine) -> str | None:
    """The schema revision recorded in the database, or ``None`` for an empty database."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def migrate(engine: Engine) -> None:
    """Bring the schema up to :data:`SCHEMA_HEAD` (a no-op when it already is)."""
    if current_revision(engine) == SCHEMA_HEAD:
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def highest_run_id(engine: Engine) -> int:
    """The highest run id in the database, 0 when it has no runs (one query)."""
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT max(id) FROM runs")).scalar() or 0)


def check_matches_artifacts(engine: Engine, artifacts: ArtifactStore) -> None:
    """Refuse a database that is empty or behind its artifact folder.

    Run folders are created only after their run's row, so a folder above the database's
    highest run id means rows were lost. Costs one directory listing and one query; with an
    artifact bucket, its run folders count too (one listing more, once per process), so a
    machine with an empty cache refuses a lost database as well.

    Raises:
        StoreMismatch: ``artifacts/runs`` (or the bucket's) holds a folder above the highest
            run id.
    """
    folders = artifacts.run_folder_ids()
    bucket = artifacts.bucket
    database = engine.url.render_as_string(hide_password=False)
    remote = bucket is not None and database not in bucket.matched_databases
    if remote:
        folders = sorted({*folders, *artifacts.published_run_ids()})
    if folders:
        highest = highest_run_id(engine)
        if folders[-1] > highest:
            raise store_behind(engine, artifacts, folders=folders, highest=highest)
    if remote:
        bucket.matched_databases.add(database)


def refuse_reused_folder(engine: Engine, artifacts: ArtifactStore | None, run_id: int) -> None:
    """Refuse a new run id whose artifact folder already exists (called before commit).

    Raises:
        StoreMismatch: ``artifacts/runs/<run_id>`` exists.
    """
    if artifacts is not None and artifacts.run_dir(run_id).exists():
        raise store_behind(engine, artifacts, reused=run_id)


def store_behind(
    engine: Engine,
    artifacts: ArtifactStore,
    *,
    folders: list[int] | None = None,
    highest: int | None = None,
    reused: int | None = None,
) -> StoreMismatch:
    """The error for a database behind its artifacts: what was found, and how to recover."""
    folders = artifacts.run_folder_ids() if folders is None else folders
    highest = highest_run_id(engine) if highest is None else highest
    runs_dir = f"{artifacts.root / 'runs'}" + (
        f" with {artifacts.remote_url}/runs" if artifacts.remote_url else ""
    )
    database = _database_name(engine)
    has = f"its highest run id is {highest}" if highest else "it has no runs"
    found = (
        f"{runs_dir} holds {len(folders)} run folder(s) up to run "
        f"{folders[-1] if folders else reused}, but the database {database} is behind: {has}"
    )
    if reused is not None:
        found = (
            f"a new run got id {reused}, whose artifact folder {artifacts.run_dir(reused)} "
            f"already holds another run's files; {found}"
        )
    if engine.url.get_backend_name() == "sqlite":
        restore = (
            f"restore {database} from a backup together with its {database}-wal file "
            f"(if the backup has one; remove a stale {database}-wal and {database}-shm first)"
        )
        afresh = f"move {artifacts.root} and {database} aside (e.g. 'mv {artifacts.root} " + (
            f"{artifacts.root}.lost')"
        )
    else:
        restore = f"restore the database {database} from a backup"
        afresh = f"move {artifacts.root} aside (e.g. 'mv {artifacts.root} {artifacts.root}.lost')"
    if artifacts.remote_url:
        afresh += f", and use another ATHANOR_ARTIFACTS_URL than {artifacts.remote_url}"
    return StoreMismatch(
        f"{found}. The database was lost or replaced by an older copy (e.g. a kill that lost "
        f"its -wal file); Athanor refuses it so that new runs do not overwrite old runs' "
        f"artifacts and checkpoints. To recover: {restore}; or, to start afresh, {afresh}."
    )


def _database_name(engine: Engine) -> str:
    """The SQLite file's path, or the URL without its password."""
    if engine.url.get_backend_name() == "sqlite" and engine.url.database:
        return str(Path(engine.url.database))
    return engine.url.render_as_string(hide_password=True)
