"""``athanor tune`` and ``athanor auto`` in real subprocesses, including a killed search."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from athanor.store import open_store
from tests.cli.test_main import ATHANOR, athanor

SPEC = """\
name: digits-search
data: {dataset: digits, split: {val: 0.2, test: 0.2}}
model:
  template: mlp
  hidden: {choice: [[32], [64]]}
train:
  epochs: 6
  batch_size: 8
  optimizer: {type: adam, lr: {loguniform: [1.0e-3, 1.0e-2]}}
tune: {metric: val_accuracy, sampler: random, pruner: none, trials: 4}
"""


def _write(tmp_path: Path, text: str = SPEC) -> Path:
    path = tmp_path / "search.yaml"
    path.write_text(text)
    return path


def test_help_names_the_commands_without_importing_optuna() -> None:
    code = "import sys, athanor.cli.main; print('optuna' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    listing = athanor("--help").stdout
    assert "tune" in listing and "auto" in listing
    assert "register" in athanor("tune", "--help").stdout


def test_a_bad_space_exits_2_naming_the_line(tmp_path: Path) -> None:
    spec = _write(tmp_path, SPEC.replace("1.0e-3, 1.0e-2", "0, 1.0e-2"))
    result = athanor("tune", str(spec), check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"error: {spec}:9: train.optimizer.lr: loguniform: must be greater than 0 (got 0)"
    )


def test_contradicting_executor_options_exit_2_before_any_search(tmp_path: Path) -> None:
    spec = _write(tmp_path)
    result = athanor("tune", str(spec), "--executor", "ray", "--platform", check=False)
    assert result.returncode == 2 and "--executor ray contradicts --platform" in result.stderr
    assert not (tmp_path / "athanor-home" / "tuning.db").exists()


def _trials(home: Path) -> list:
    import optuna

    from athanor.tuning.study import close_storages

    close_storages()
    try:
        # the search's process creates the tables; this one only reads
        storage = optuna.storages.RDBStorage(
            f"sqlite:///{home / 'tuning.db'}", skip_table_creation=True
        )
    except Exception:  # not created yet
        return []
    try:
        (study,) = storage.get_all_studies()
        return optuna.load_study(study_name=study.study_name, storage=storage).get_trials()
    except Exception:  # no study yet, or the tables are being created
        return []
    finally:
        storage.engine.dispose()


# A site hook for the search's process: an audit hook that sees checkpoint folders renamed into
# place and kills the process, as a user's kill -9 would, just before the third run writes its
# second checkpoint. Two trials have then finished and a third has a checkpoint of its first
# epoch, however fast or slow the machine is.
KILL_IN_THIRD_RUN = """\
import os, signal, sys
from pathlib import Path

_written = {}


def _kill_in_third_run(event, args):
    if event != "os.rename":
        return
    target = Path(os.fsdecode(args[1]))
    if not target.name.startswith("step-"):
        return
    runs = _written.setdefault(target.parent, 0)
    if len(_written) == 3 and runs == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    _written[target.parent] = runs + 1


sys.addaudithook(_kill_in_third_run)
"""


def test_a_killed_search_continues_without_repeating_finished_trials(
    tmp_path: Path, athanor_home: Path
) -> None:
    spec = _write(tmp_path)
    hook = tmp_path / "kill-hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(KILL_IN_THIRD_RUN, "utf-8")
    path = os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")]))
    killed = subprocess.run(
        [*ATHANOR, "tune", str(spec), "--quiet"],
        env={**os.environ, "PYTHONPATH": path},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=180,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    before = {t.number: t for t in _trials(athanor_home)}
    finished = {n: t.user_attrs["run_id"] for n, t in before.items() if t.state.name == "COMPLETE"}
    (interrupted,) = [t for t in before.values() if t.state.name == "RUNNING"]

    report = json.loads(athanor("tune", str(spec), "--json").stdout)
    assert report["status"] == "finished" and report["trials"]["done"] == 4
    assert report["trials"]["complete"] == 4 and report["trials"]["interrupted"] == 1
    rows = {row["trial"]: row for row in report["leaderboard"]}
    assert {n: rows[n]["run_id"] for n in finished} == finished  # kept, not repeated
    (retry,) = [row for row in rows.values() if row.get("retry_of") == interrupted.number]
    assert retry["params"] == rows[interrupted.number]["params"]
    # the interrupted trial's run went on from its checkpoint: same run, each epoch once
    assert retry["run_id"] == interrupted.user_attrs["run_id"] and retry["state"] == "complete"
    store = open_store()
    epochs = [p.epoch for p in store.runs.metrics(retry["run_id"])["val_accuracy"]]
    assert epochs == [1, 2, 3, 4, 5, 6]
    runs = store.runs.list()
    assert len(runs) == 4 and all(run.status == "succeeded" for run in runs)


def test_auto_then_the_search_commands() -> None:
    report = json.loads(athanor("auto", "iris", "--budget", "1m", "--trials", "2", "--json").stdout)
    assert report["model"] == "iris-auto@1" and report["trials"]["done"] == 2
    assert set(report["winner"]["test_metrics"]) == {"test_loss", "test_accuracy"}
    listed = json.loads(athanor("tune", "list", "--json").stdout)
    assert [(s["id"], s["kind"], s["status"]) for s in listed] == [(1, "auto", "finished")]
    shown = athanor("tune", "show", "1").stdout
    assert "leaderboard (val_accuracy, maximize)" in shown
    assert "test set (once, chosen model): test_loss" in shown
    registered = athanor("tune", "register", "1", "iris-again").stdout
    assert registered.startswith("registered iris-again@1 (run ")  # tested before: not again


def test_platform_trials_need_a_running_platform(tmp_path: Path) -> None:
    result = athanor("tune", str(_write(tmp_path)), "--platform", "--quiet", check=False)
    assert result.returncode == 2
    assert "no platform is running" in result.stderr and "athanor up" in result.stderr
    assert open_store().runs.list() == []


def test_stop_at_ends_the_search_at_the_first_trial_that_reaches_it(tmp_path: Path) -> None:
    spec = _write(tmp_path, SPEC.replace("trials: 4", "trials: 12"))
    report = json.loads(athanor("tune", str(spec), "--stop-at", "0.5", "--json").stdout)
    assert report["status"] == "finished" and report["stop_at"] == 0.5
    assert report["reason"].startswith("trial 0 reached val_accuracy ")  # digits: any MLP does
    assert report["trials"]["done"] == 1
    result = athanor("tune", str(spec), "--stop-at", "most", check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "Invalid value for '--stop-at'" in result.stderr
