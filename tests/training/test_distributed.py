"""Data-parallel training without Ray: ranks on loopback (gloo) train like one process.

Two ranks train the same spec as one process at the same global batch size. They do not
reach bitwise the same weights: one process's gradient is the mean over the whole batch,
two ranks average two half-batch means weighted by their shares (the all-reduce), and
float32 sums in another order round differently (about 1e-7 relative per step). Over this
run's 20 SGD steps that stays far below the tolerance used here, 1e-5 on losses and on
every weight; accuracies are counts and must agree (no prediction lies that close to a tie).
A 2-rank run resumed after a rank died is compared with an uninterrupted 2-rank run, and
must be bitwise equal: same shards, same order, same sums.
"""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import psutil
import pytest
import torch
import torch.multiprocessing as mp

import athanor as at
from athanor.data.prepare import load_raw, prepare
from athanor.nets import build_network
from athanor.settings import Settings
from athanor.spec import load_spec
from athanor.store import open_store
from athanor.store.checkpoints import CheckpointFolder, checkpoint_step
from athanor.training import Trainer
from athanor.training.callbacks import Callback
from athanor.training.checkpoint import load_checkpoint
from athanor.training.distributed import (
    PeerLost,
    end_process_group,
    shard_bounds,
    start_process_group,
)

TOLERANCE = 1e-5
SPEC = {
    "seed": 3,
    # 301 training samples: the last batch of each epoch (13) splits 6 / 7
    "data": {
        "dataset": "digits",
        "split": {"val": 0.15, "test": 0.15},
        "subset": {"train": 301, "val": 100, "test": 100},
    },
    "model": {"template": "mlp", "hidden": [32]},
    "train": {
        "epochs": 2,
        "batch_size": 32,
        "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9},
        "metrics": ["accuracy", "roc_auc"],
        "checkpoint": {"every_steps": 5},
    },
}


def spec_with(workers: int) -> dict:
    return {**SPEC, "job": {"resources": {"workers": workers}}}


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    home = tmp_path_factory.mktemp("ddp-home")
    return Settings(home=home, db_url=f"sqlite:///{home / 'athanor.db'}", data_mirrors=())


@pytest.fixture(scope="module")
def one_rank(settings: Settings):
    return at.train(spec_with(1), progress=False, settings=settings)


@pytest.fixture(scope="module")
def two_ranks(settings: Settings):
    return at.train(spec_with(2), progress=False, settings=settings)


def scalars(history: list[dict[str, float]]) -> list[dict[str, float]]:
    return [{k: v for k, v in epoch.items() if k != "epoch_seconds"} for epoch in history]


def logged_steps(settings: Settings, run_id: int) -> dict[str, list[int]]:
    """The steps of each metric the run logged, but those sampled by time (the batch loss,
    checked for steps logged twice, and the learning rate, also logged at epoch starts)."""
    series = open_store(settings).runs.metrics(run_id)
    series.pop("lr_step", None)
    batch = [p.step for p in series.pop("batch_loss", [])]
    assert batch == sorted(set(batch))  # never a step twice
    return {name: [p.step for p in points] for name, points in series.items()}


def max_weight_difference(a: torch.nn.Module, b: torch.nn.Module) -> float:
    first, second = a.state_dict(), b.state_dict()
    return max(float((first[k] - second[k]).abs().max()) for k in first)


def test_shards_cover_each_batch_once() -> None:
    for rows in (0, 1, 13, 32):
        bounds = [shard_bounds(rows, rank, 3) for rank in range(3)]
        assert bounds[0][0] == 0 and bounds[-1][1] == rows
        assert all(bounds[i][1] == bounds[i + 1][0] for i in range(2))
        assert max(e - b for b, e in bounds) - min(e - b for b, e in bounds) <= 1


def test_two_ranks_reach_the_weights_and_metrics_of_one(one_rank, two_ranks) -> None:
    one, two = scalars(one_rank.fit.history), scalars(two_ranks.fit.history)
    for first, second in zip(one, two, strict=True):
        assert first.keys() == second.keys()
        for name in first:
            assert second[name] == pytest.approx(first[name], abs=TOLERANCE), name
        assert second["train_accuracy"] == first["train_accuracy"]
        assert second["val_accuracy"] == first["val_accuracy"]
    assert max_weight_difference(one_rank.network, two_ranks.network) < TOLERANCE
    assert two_ranks.test_metrics["test_loss"] == pytest.approx(
        one_rank.test_metrics["test_loss"], abs=TOLERANCE
    )
    assert two_ranks.fit.steps == one_rank.fit.steps == 2 * 10
    assert two_ranks.fit.history[-1]["val_accuracy"] > 0.6  # it learned


def test_rank_zero_alone_records_metrics_and_checkpoints(
    settings: Settings, one_rank, two_ranks
) -> None:
    store = open_store(settings)
    run = store.runs.get(two_ranks.run.id)
    assert run.status == "succeeded" and run.summary["workers"] == 2
    # each point once: the other rank logs nothing
    assert logged_steps(settings, two_ranks.run.id) == logged_steps(settings, one_rank.run.id)
    folder = CheckpointFolder.of_run(store.artifacts.run_dir(two_ranks.run.id))
    newest = folder.newest()
    assert newest is not None
    saved = load_checkpoint(newest)
    assert len(saved["rank_rng"]) == 2  # every rank's random state, in rank 0's checkpoint


def _train_as_rank(rank: int, address: str, folder: str) -> None:
    spec = load_spec(spec_with(2))
    prepared = prepare(spec.data, spec.seed, raw=load_raw("digits"))
    network = build_network(spec.model, prepared.schema, seed=spec.seed + rank)  # unlike
    context = start_process_group(rank, 2, address, torch.device("cpu"))
    try:
        # each rank is given its own checkpoint folder: only rank 0's may fill
        trainer = Trainer(
            spec.train,
            seed=spec.seed,
            checkpoint_dir=Path(folder) / f"rank{rank}",
            distributed=context,
        )
        trainer.fit(network, prepared)
    finally:
        end_process_group()
    torch.save(network.state_dict(), Path(folder) / f"weights{rank}.pt")


def test_only_rank_zero_writes_checkpoints_and_replicas_stay_equal(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    mp.start_processes(
        _train_as_rank, args=(address, str(tmp_path)), nprocs=2, start_method="spawn"
    )
    assert CheckpointFolder(tmp_path / "rank0").newest() is not None
    assert not (tmp_path / "rank1").exists() or not any((tmp_path / "rank1").iterdir())
    first, second = (torch.load(tmp_path / f"weights{r}.pt") for r in range(2))
    # built from different seeds, the ranks start from rank 0's weights and stay equal
    assert all(torch.equal(first[k], second[k]) for k in first)


class KillOtherRank(Callback):
    """Kills the run's other rank (a child of this process) after optimizer step ``step``."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_after_optimizer_step(self, trainer, state) -> None:
        if state.step != self.step:
            return
        for child in psutil.Process().children():
            if "athanor.runs.distributed" in " ".join(child.cmdline()):
                child.send_signal(signal.SIGKILL)
                child.wait(timeout=30)


def test_a_run_whose_rank_died_resumes_to_the_same_result(settings: Settings, two_ranks) -> None:
    with pytest.raises(PeerLost):
        at.train(spec_with(2), progress=False, settings=settings, callbacks=[KillOtherRank(7)])
    store = open_store(settings)
    run = max(store.runs.list(), key=lambda record: record.id)
    assert run.status == "failed" and run.id != two_ranks.run.id
    folder = CheckpointFolder.of_run(store.artifacts.run_dir(run.id))
    assert checkpoint_step(folder.newest()) == 5  # the last checkpoint before the kill
    resumed = at.resume(run.id, progress=False, settings=settings)
    assert resumed.run.status == "succeeded"
    assert scalars(resumed.fit.history) == scalars(two_ranks.fit.history)
    assert max_weight_difference(resumed.network, two_ranks.network) == 0.0
    # no point lost or written twice
    assert logged_steps(settings, run.id) == logged_steps(settings, two_ranks.run.id)
