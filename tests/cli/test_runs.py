"""``athanor runs show`` and ``athanor runs report`` in real subprocesses, in 80 columns."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from athanor.settings import Settings
from tests.evaluated_runs import evaluated_runs

ATHANOR = [sys.executable, "-m", "athanor.cli"]


def athanor(home: Path, *args: str, cwd: Path | None = None) -> str:
    env = {**os.environ, "ATHANOR_HOME": str(home), "COLUMNS": "80"}
    result = subprocess.run(
        [*ATHANOR, *args], capture_output=True, text=True, env=env, timeout=120, cwd=cwd
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_show_prints_the_confusion_matrix_and_per_class_scores_within_80_columns() -> None:
    runs = evaluated_runs()
    out = athanor(runs.home, "runs", "show", str(runs.binary.id))
    assert "confusion matrix (rows: actual, columns: predicted)" in out
    assert "per class (test)" in out and "macro avg" in out and "weighted avg" in out
    assert "ROC AUC " in out and "most confidently wrong" in out
    evaluation = json.loads(athanor(runs.home, "runs", "show", str(runs.binary.id), "--json"))[
        "evaluation"
    ]
    matrix_rows = [line.split() for line in out.splitlines() if line.startswith(" benign")]
    assert [int(v) for v in matrix_rows[0][1:]] == evaluation["confusion_matrix"][1]
    assert all(len(line) <= 80 for line in out.splitlines() if "│" not in line)
    out = athanor(runs.home, "runs", "show", str(runs.digits.id))
    grid = [line for line in out.splitlines() if line.startswith((" 0 ", " 9 "))]
    assert len(grid) >= 2 and all(len(line) <= 80 for line in grid)


def test_show_prints_a_regressions_error_by_decile() -> None:
    runs = evaluated_runs()
    out = athanor(runs.home, "runs", "show", str(runs.regression.id))
    assert "error by decile of actual medv" in out and "test medv: MAE " in out
    deciles = [line.split() for line in out.splitlines() if line[:4].strip().isdigit()]
    assert [row[0] for row in deciles[-10:]] == [str(d) for d in range(1, 11)]


def test_report_writes_a_self_contained_html_file(tmp_path: Path) -> None:
    runs = evaluated_runs()
    out = athanor(runs.home, "runs", "report", str(runs.digits.id), cwd=tmp_path)
    path = tmp_path / f"run-{runs.digits.id}.html"
    assert f"wrote run-{runs.digits.id}.html" in out and path.is_file()
    html = path.read_text()
    assert "Confusion matrix" in html and "data:image/png;base64," in html


def test_show_of_a_run_without_an_evaluation_says_so(tmp_path: Path) -> None:
    from athanor.store import open_store

    home = tmp_path / "home"
    record = open_store(
        Settings(home=home, db_url=f"sqlite:///{home / 'athanor.db'}", data_mirrors=())
    ).runs.create({"name": "old"}, name="old", dataset="iris")
    out = athanor(home, "runs", "show", str(record.id))
    assert "evaluation: none stored (trained before evaluations were kept" in out
    assert json.loads(athanor(home, "runs", "show", str(record.id), "--json"))["evaluation"] is None


def _run(home: Path, *args: str, answer: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "ATHANOR_HOME": str(home), "COLUMNS": "100"}
    return subprocess.run(
        [*ATHANOR, *args], capture_output=True, text=True, env=env, timeout=120, input=answer
    )


def test_delete_archives_a_finished_run_restore_brings_it_back_and_a_queued_one_is_refused(
    tmp_path: Path,
) -> None:
    from athanor.store import RunStatus, open_store

    home = tmp_path / "home"
    store = open_store(
        Settings(home=home, db_url=f"sqlite:///{home / 'athanor.db'}", data_mirrors=())
    )
    done = store.runs.create({}, name="cli-done", status=RunStatus.QUEUED)
    store.runs.finish(done.id, RunStatus.FAILED, "ended")
    queued = store.runs.create({}, name="cli-queued", status=RunStatus.QUEUED)

    out = athanor(home, "runs", "delete", str(done.id), "--yes")
    assert f"run {done.id} archived; 'athanor runs restore {done.id}' brings it back" in out
    assert "cli-done" not in athanor(home, "runs", "list")
    assert "cli-done" in athanor(home, "runs", "list", "--archived")
    refused = _run(home, "runs", "delete", str(queued.id), "--yes")
    assert refused.returncode == 2
    assert f"run {queued.id} is queued: cancel it first" in refused.stderr
    asked = _run(home, "runs", "delete", str(done.id), "--purge", answer="n\n")
    assert asked.returncode != 0 and store.runs.get(done.id).archived
    assert f"run {done.id} restored" in athanor(home, "runs", "restore", str(done.id))
    assert "cli-done" in athanor(home, "runs", "list")
