"""A lost or older metadata database is refused, never silently replaced by an empty one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import athanor as at
from athanor.errors import StoreMismatch, UserError
from athanor.store import dispose_engines, open_store

IRIS = {
    "name": "lost",
    "seed": 3,
    "data": {"dataset": "iris"},
    "model": {"template": "mlp", "hidden": [8]},
    "train": {"epochs": 1, "batch_size": 32},
}


def lose_database(home: Path) -> None:
    """What a kill that lost the -wal file, or a deleted file, leaves: no database at all."""
    dispose_engines()  # no pooled connection keeps the old file open
    for suffix in ("", "-wal", "-shm"):
        Path(f"{home / 'athanor.db'}{suffix}").unlink(missing_ok=True)


def athanor_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "athanor.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


def test_a_fresh_home_opens(athanor_home: Path) -> None:
    store = open_store()
    assert store.runs.list() == []
    assert store.runs.create({}, name="first").id == 1


def test_a_home_whose_artifacts_match_opens_and_numbers_on(athanor_home: Path) -> None:
    run = at.train(IRIS, progress=False)
    assert (athanor_home / "artifacts" / "runs" / str(run.id)).is_dir()
    dispose_engines()
    store = open_store()
    assert store.runs.create({}, name="next").id == run.id + 1


def test_a_lost_database_is_refused_with_what_was_found_and_how_to_recover(
    athanor_home: Path,
) -> None:
    run = at.train(IRIS, progress=False)
    checkpoints = athanor_home / "artifacts" / "runs" / str(run.id) / "checkpoints"
    kept = sorted(p.name for p in checkpoints.iterdir())
    assert kept  # the run wrote checkpoints that a new run 1 would have pruned
    lose_database(athanor_home)

    with pytest.raises(StoreMismatch) as raised:
        open_store()
    message = str(raised.value)
    database = athanor_home / "athanor.db"
    assert f"{athanor_home / 'artifacts' / 'runs'} holds 1 run folder(s) up to run 1" in message
    assert f"the database {database} is behind: it has no runs" in message
    assert f"restore {database} from a backup together with its {database}-wal" in message
    assert f"mv {athanor_home / 'artifacts'} {athanor_home / 'artifacts'}.lost" in message
    assert isinstance(raised.value, UserError) and raised.value.http_status == 409
    with pytest.raises(StoreMismatch):
        at.train(IRIS, progress=False)  # a new run never starts over the old one's folder
    assert sorted(p.name for p in checkpoints.iterdir()) == kept


def test_an_older_copy_of_the_database_is_refused(athanor_home: Path, tmp_path: Path) -> None:
    at.train(IRIS, progress=False)
    dispose_engines()
    backup = tmp_path / "backup.db"
    shutil.copy(athanor_home / "athanor.db", backup)  # checkpointed: no -wal left behind
    at.train(IRIS, progress=False)
    lose_database(athanor_home)
    shutil.copy(backup, athanor_home / "athanor.db")

    with pytest.raises(StoreMismatch, match=r"holds 2 run folder\(s\) up to run 2, .*run id is 1"):
        open_store()


def test_a_new_run_never_takes_an_existing_folder(athanor_home: Path) -> None:
    store = open_store()
    store.runs.create({}, name="first")
    # A folder above every run, made after the store was opened (another process's copy).
    taken = store.artifacts.run_dir(2)
    (taken / "checkpoints" / "step-00000005").mkdir(parents=True)
    with pytest.raises(StoreMismatch, match=r"a new run got id 2, whose artifact folder"):
        store.runs.create({}, name="second")
    with pytest.raises(StoreMismatch, match=r"a new run got id 2"):
        store.jobs.submit({"job": {}}, name="job", dataset="iris")
    assert [run.id for run in store.runs.list()] == [1]  # nothing was stored
    assert (taken / "checkpoints" / "step-00000005").is_dir()


def test_the_cli_exits_2_with_the_message(athanor_home: Path) -> None:
    at.train(IRIS, progress=False)
    lose_database(athanor_home)
    result = athanor_cli("runs", "list")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    output = " ".join((result.stdout + result.stderr).split())  # rich wraps long lines
    assert "holds 1 run folder(s) up to run 1" in output
    assert f"restore {athanor_home / 'athanor.db'} from a backup" in output


def test_the_platform_does_not_start_on_a_lost_database(athanor_home: Path) -> None:
    at.train(IRIS, progress=False)
    lose_database(athanor_home)
    result = athanor_cli("up", "--port", "0", timeout=60)  # a started platform would run on
    assert result.returncode == 2, result.stderr
    assert "holds 1 run folder(s) up to run 1" in " ".join(result.stderr.split())
