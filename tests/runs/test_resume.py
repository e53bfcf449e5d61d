"""Exact resume: a training process killed with SIGKILL mid-epoch and resumed ends with the
same weights, bit for bit, as a run that was never interrupted."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from rich.console import Console
from safetensors.torch import load_file

import athanor as at
from athanor.errors import UserError
from athanor.store import RunStatus, open_store
from athanor.store.checkpoints import CheckpointFolder
from athanor.training.callbacks import Callback

# Dropout (global RNG), a per-step schedule with warm-up, Adam state, gradient accumulation,
# L2 penalty and early-stopping state: everything a resume has to restore.
SPEC = {
    "name": "resume",
    "seed": 11,
    "data": {"dataset": "digits", "split": {"val": 0.15, "test": 0.15}},
    "model": {"template": "mlp", "hidden": [48, 24], "dropout": 0.3},
    "train": {
        "epochs": 4,
        "batch_size": 16,
        "accumulate": 2,
        "optimizer": {"type": "adam", "lr": 0.003},
        "schedule": {"type": "cosine", "warmup_steps": 10},
        "regularization": {"l2": 1e-4},
        "early_stopping": {"monitor": "val_loss", "patience": 10},
        "checkpoint": {"every_steps": 7, "keep": 3},
    },
}


def run_cli(
    home: Path, *args: str, wait: bool = True
) -> subprocess.Popen | subprocess.CompletedProcess:
    env = {**os.environ, "ATHANOR_HOME": str(home), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "athanor.cli", *args]
    if not wait:
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def final_weights(home: Path, run_id: int) -> dict[str, torch.Tensor]:
    return load_file(
        str(home / "artifacts" / "runs" / str(run_id) / "model" / "weights.safetensors")
    )


def test_sigkill_mid_epoch_then_resume_gives_bitwise_equal_weights(tmp_path: Path) -> None:
    spec_file = tmp_path / "spec.json"  # JSON is YAML
    spec_file.write_text(json.dumps(SPEC))

    straight_home = tmp_path / "straight"
    done = run_cli(straight_home, "train", str(spec_file), "--json")
    assert done.returncode == 0, done.stderr
    expected = final_weights(straight_home, 1)

    # 1797 digits - 270 val - 270 test = 1257 samples: 79 batches of 16, 40 optimizer steps
    # per epoch (2 batches each). Checkpoints every 7 steps fall mid-epoch except at 280.
    steps_per_epoch = 40
    home = tmp_path / "killed"
    process = run_cli(home, "train", str(spec_file), "--quiet", wait=False)
    checkpoints = CheckpointFolder.of_run(home / "artifacts" / "runs" / "1")

    def newest() -> int:
        return checkpoints.newest_step() or 0

    deadline = time.monotonic() + 120
    while True:  # freeze the process once its newest checkpoint is mid-epoch, in epoch 2+
        assert time.monotonic() < deadline and process.poll() is None
        if newest() > steps_per_epoch:
            process.send_signal(signal.SIGSTOP)
            if newest() % steps_per_epoch:
                break
            process.send_signal(signal.SIGCONT)
        time.sleep(0.02)
    killed_at = newest()
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert steps_per_epoch < killed_at < 4 * steps_per_epoch

    listed = json.loads(run_cli(home, "runs", "list", "--json").stdout)
    assert (
        listed[0]["status"] == "failed" and "ended without finishing" in listed[0]["status_reason"]
    )

    resumed = run_cli(home, "runs", "resume", "1", "--json")
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout)
    assert result["run"]["status"] == "succeeded"
    weights = final_weights(home, 1)
    assert weights.keys() == expected.keys()
    for name in expected:
        assert torch.equal(weights[name], expected[name]), name

    # The metric log has each epoch once and matches the uninterrupted run's exactly.
    store_a = json.loads(run_cli(straight_home, "runs", "show", "1", "--json").stdout)
    store_b = json.loads(run_cli(home, "runs", "show", "1", "--json").stdout)
    for name in ("train_loss", "val_loss", "val_accuracy", "test_accuracy"):
        assert store_b["metrics"][name] == store_a["metrics"][name], name


def test_sigterm_stops_with_a_checkpoint_and_resume_finishes(tmp_path: Path) -> None:
    spec_file = tmp_path / "spec.json"
    long = {**SPEC, "train": {**SPEC["train"], "epochs": 50, "checkpoint": {"every_steps": 1000}}}
    spec_file.write_text(json.dumps(long))
    home = tmp_path / "home"
    process = run_cli(home, "train", str(spec_file), "--quiet", wait=False)
    db = home / "athanor.db"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (
        CheckpointFolder.of_run(home / "artifacts" / "runs" / "1").newest()  # an epoch ended
    ):
        assert process.poll() is None, process.stderr.read().decode()
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    assert db.exists()
    record = at.runs.get(1, settings=_settings(home))
    assert record.status == RunStatus.CANCELLED
    assert record.status_reason.startswith("stopped by SIGTERM at step ")
    assert "athanor runs resume 1" in record.status_reason


def _settings(home: Path):
    from athanor.settings import Settings

    return Settings(home=home, db_url=f"sqlite:///{home / 'athanor.db'}", data_mirrors=())


def test_resume_refuses_what_cannot_be_resumed() -> None:
    run = at.train({**SPEC, "train": {**SPEC["train"], "epochs": 1}}, progress=False)
    with pytest.raises(UserError, match="already succeeded"):
        at.resume(run.id)
    store = open_store()
    other = store.runs.create({}, name="x")
    store.runs.finish(other.id, RunStatus.FAILED, "boom")
    with pytest.raises(UserError, match="has no checkpoint to resume from"):
        at.resume(other.id)
    live = store.runs.create({}, name="live")
    with pytest.raises(UserError, match=f"run {live.id} is still running"):
        at.resume(live.id)


class _StopAfterEpoch(Callback):
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, trainer, state, metrics) -> None:
        if state.epoch + 1 == self.epoch:
            trainer.request_stop(f"stopped after epoch {self.epoch}")


def test_early_stopping_state_survives_a_resume_with_more_callbacks_in_front() -> None:
    # A rate this high makes validation loss worsen now and then: early stopping has a best
    # value and a waiting count to carry over. The resume shows progress, which puts a
    # progress bar in front of early stopping in the callback list.
    spec = {
        "name": "stopping",
        "seed": 5,
        "data": {"dataset": "digits", "split": {"val": 0.15, "test": 0.15}},
        "model": {"template": "mlp", "hidden": [32]},
        "train": {
            "epochs": 30,
            "batch_size": 64,
            "optimizer": {"type": "sgd", "lr": 1.5},
            "early_stopping": {"monitor": "val_loss", "patience": 3},
        },
    }
    straight_run = at.train(spec, progress=False)
    straight = straight_run.fit
    assert straight.stop_reason.startswith("early stopping")
    # Stopped after its best epoch, early stopping is counting epochs without improvement:
    # a resume that forgot its best value would take the next epoch as its best and train
    # at least one epoch longer, ending with other weights.
    stop_after = straight.best_epoch
    assert stop_after is not None and stop_after < straight.epochs_run < 30

    stopped = at.train(spec, progress=False, callbacks=[_StopAfterEpoch(stop_after)])
    assert stopped.run.status == RunStatus.CANCELLED and stopped.fit.epochs_run == stop_after
    resumed = at.resume(stopped.id, progress=True, console=Console(file=io.StringIO()))

    assert resumed.run.status == RunStatus.SUCCEEDED
    assert resumed.fit.stop_reason == straight.stop_reason
    assert (resumed.fit.best_epoch, resumed.fit.epochs_run) == (
        straight.best_epoch,
        straight.epochs_run,
    )
    expected = straight_run.network.state_dict()  # the best epoch's weights, restored
    for name, tensor in resumed.network.state_dict().items():
        assert torch.equal(tensor, expected[name]), name


def test_a_regression_run_with_a_standardized_target_resumes_to_the_same_model(
    mirror: Path,
) -> None:
    from athanor.serve import Predictor

    spec = {
        "name": "boston",
        "seed": 3,
        "data": {"dataset": "boston-housing", "split": {"val": 0.1, "test": 0.1}},
        "model": {"template": "mlp", "hidden": [16]},
        "train": {"epochs": 4, "batch_size": 32, "optimizer": {"lr": 0.01}},
    }
    straight = at.train(spec, progress=False)
    stopped = at.train(spec, progress=False, callbacks=[_StopAfterEpoch(2)])
    resumed = at.resume(stopped.id, progress=False)
    assert resumed.run.status == RunStatus.SUCCEEDED
    for name, tensor in resumed.network.state_dict().items():
        assert torch.equal(tensor, straight.network.state_dict()[name]), name
    assert resumed.test_metrics == straight.test_metrics  # RMSE in medv's units, both
    assert 2 < straight.test_metrics["test_rmse"] < 15
    rows = mirror / "boston-housing" / "BostonHousing.csv"
    again = Predictor.from_package(resumed.package_dir).predict_proba(rows)
    first = Predictor.from_package(straight.package_dir).predict_proba(rows)
    assert np.array_equal(again, first) and 15 < float(np.median(first)) < 30  # thousands of $
