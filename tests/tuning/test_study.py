"""Searches as Optuna studies in their own database: records, ownership, crash recovery."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from optuna.trial import TrialState
from sqlalchemy import create_engine, inspect

from athanor.errors import NotFound, UserError
from athanor.settings import current_settings
from athanor.spec.tune import load_search
from athanor.store import open_store
from athanor.tuning import space
from athanor.tuning.study import (
    claim,
    done_trials,
    list_records,
    load_search_study,
    open_search,
    open_storage,
    record_of,
)

# the test asks for trials itself, as worker processes do, outside Study.optimize
pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage")


def test_searches_live_apart_from_the_metadata_database(iris_search, athanor_home: Path) -> None:
    settings = current_settings()
    open_store(settings)
    study, existed = open_search(load_search(iris_search), settings)
    assert not existed and study.study_name.startswith("iris-search-")
    tables = inspect(create_engine(settings.tuning_url)).get_table_names()
    assert "trials" in tables and (athanor_home / "tuning.db").is_file()
    ours = inspect(create_engine(settings.db_url)).get_table_names()
    assert "trials" not in ours and "runs" in ours  # Optuna's migrations never touch ours
    record = record_of(study)
    assert (record.id, record.kind, record.status, record.metric) == (
        1,
        "tune",
        "running",
        "val_accuracy",
    )
    assert load_search_study(1, settings).study_name == study.study_name
    assert load_search_study(study.study_name, settings).study_name == study.study_name
    with pytest.raises(NotFound, match=r"no search 7; searches: iris-search-"):
        load_search_study(7, settings)
    again, existed = open_search(load_search(iris_search), settings)
    assert existed and again.study_name == study.study_name
    fresh, _ = open_search(load_search(iris_search), settings, new=True)
    assert fresh.study_name == f"{study.study_name}-2"
    assert [r.id for r in list_records(settings)] == [2, 1]


def test_the_searches_sqlite_file_syncs_at_checkpoints_not_every_commit(athanor_home) -> None:
    storage = open_storage(current_settings())
    with storage.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    with sqlite3.connect(athanor_home / "tuning.db") as other:
        assert other.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL: per connection


def test_a_dead_owners_running_trials_run_again_with_their_run(
    iris_search, search_backend: str
) -> None:
    settings = current_settings()
    definition = load_search(iris_search)
    study, _ = open_search(definition, settings)
    storage = open_storage(settings)
    assert claim(study, storage) == []
    dists = space.distributions(definition.params)
    finished = study.ask(dists)
    study.tell(finished, 0.9)
    running = study.ask(dists)
    running.set_user_attr("run_id", 7)
    running.report(0.5, 1)
    # a live process of this machine owns the search: nobody else may run it
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        owner = {"pid": sleeper.pid, "host": socket.gethostname(), "beat": time.time()}
        study.set_user_attr("owner", owner)
        with pytest.raises(UserError, match=rf"is running in process {sleeper.pid} on "):
            claim(study, storage)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert claim(study, storage) == [running.number]  # its owner is gone now
    trials = study.get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.FAIL, TrialState.WAITING]
    retry = trials[-1]
    assert retry.params == running.params and retry.user_attrs["run_id"] == 7
    assert retry.intermediate_values == {1: 0.5}
    assert retry.system_attrs["failed_trial"] == running.number
    assert [t.number for t in done_trials(trials)] == [finished.number]
    counts = record_of(study).counts
    assert (counts["done"], counts["interrupted"], counts["fail"], counts["waiting"]) == (
        1,
        1,
        0,
        1,
    )
    # the queued trial is the next one asked for, with the same parameters
    assert study.ask(dists).params == running.params
