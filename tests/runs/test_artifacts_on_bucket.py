"""Team mode on a real S3 API server: machines with their own ATHANOR_HOME share one
database and one bucket. A dataset imported on one machine trains on another; a run stopped
on one resumes on another from its published checkpoint, to the same weights; its package is
registered, verified, exported and deleted from yet other machines."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import athanor as at
from athanor.store import RunStatus, open_store
from athanor.store.checkpoints import CheckpointFolder
from athanor.training.callbacks import Callback
from tests.conftest import housing_rows

SPEC = {
    "name": "houses-team",
    "seed": 5,
    "data": {"dataset": "houses", "split": {"val": 0.15, "test": 0.15}},
    "model": {"template": "mlp", "hidden": [8]},
    "train": {
        "epochs": 3,
        "batch_size": 16,
        "optimizer": {"type": "adam", "lr": 0.01},
        "checkpoint": {"every_steps": 4, "keep": 2},
    },
}


class _StopAfterEpoch(Callback):
    def on_epoch_end(self, trainer, state, metrics) -> None:
        if state.epoch == 0:  # the first epoch (0-based) just ended
            trainer.request_stop("stopped after epoch 1")


class _LoadedFrom(Callback):
    def __init__(self) -> None:
        self.paths: list[Path] = []

    def on_checkpoint_load(self, trainer, state, path) -> None:
        self.paths.append(path)


def weights(home: Path, run_id: int) -> dict[str, torch.Tensor]:
    package = home / "artifacts" / "runs" / str(run_id) / "model" / "weights.safetensors"
    return load_file(str(package))


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_bucket: str):
    """Switch to a machine: its own empty ATHANOR_HOME, the shared SQLite file and bucket."""
    monkeypatch.setenv("ATHANOR_DB_URL", f"sqlite:///{tmp_path / 'shared.db'}")

    def switch(name: str) -> Path:
        home = tmp_path / name
        monkeypatch.setenv("ATHANOR_HOME", str(home))
        return home

    return switch


def test_import_train_stop_resume_register_verify_export_delete_across_machines(
    machine, tmp_path: Path, mirror: Path
) -> None:
    table = tmp_path / "houses.csv"
    rows = housing_rows(200, seed=3)
    with table.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    first = machine("first")
    imported = at.datasets.import_dataset(table, name="houses", target="median_house_value")
    straight = at.train(SPEC, progress=False)
    stopped = at.train(SPEC, progress=False, callbacks=[_StopAfterEpoch()])
    assert stopped.run.status == RunStatus.CANCELLED
    published = open_store().artifacts.published_folders(
        CheckpointFolder.of_run(first / "artifacts" / "runs" / str(stopped.id)).path
    )
    local = CheckpointFolder.of_run(first / "artifacts" / "runs" / str(stopped.id)).list()
    assert [p.name for p in published] == [p.name for p in local] and len(local) == 2

    # Another machine has nothing of it: the dataset and the checkpoint come from the bucket.
    second = machine("second")
    assert not (second / "artifacts").exists()
    loaded = _LoadedFrom()
    resumed = at.resume(stopped.id, progress=False, callbacks=[loaded])
    assert resumed.run.status == RunStatus.SUCCEEDED
    assert (second / "artifacts" / imported.version.path / "dataset.json").is_file()
    second_run = second / "artifacts" / "runs" / str(stopped.id)
    assert (
        loaded.paths
        == [CheckpointFolder.of_run(second_run).path_for(9)]
        == [second_run / "checkpoints" / local[-1].name]
    )
    # the bucket keeps what the run's folder keeps: the older ones were withdrawn
    assert open_store().artifacts.published_folders(CheckpointFolder.of_run(second_run).path) == (
        CheckpointFolder.of_run(second_run).list()
    )
    expected = weights(first, straight.id)
    got = weights(second, resumed.id)
    assert expected.keys() == got.keys()
    assert all(torch.equal(expected[key], got[key]) for key in expected)

    # A third registers the run's package (published when the run ended) ...
    machine("third")
    version = at.models.register("houses-team", resumed.id)
    assert version.ref == "houses-team@1"

    # ... a fourth verifies its hashes and exports it to ONNX ...
    fourth = machine("fourth")
    assert not (fourth / "artifacts" / version.path).exists()
    assert at.runs.show(resumed.id)["evaluation"]["task"] == "regression"
    shown = at.models.show("houses-team@1")
    assert shown["content_hash"] == version.content_hash
    exported = at.models.export("houses-team@1", tmp_path / "houses.onnx", format="onnx")
    assert Path(exported.path).stat().st_size > 0

    # ... and deleting the version removes its objects from the bucket.
    store = open_store()
    bucket = store.artifacts.bucket
    assert bucket.fs.find(bucket.key(version.path))
    at.models.delete("houses-team@1")
    assert bucket.fs.find(bucket.key(version.path)) == []
    machine("fifth")
    assert open_store().artifacts.fetch(open_store().artifacts.resolve(version.path)) is False
