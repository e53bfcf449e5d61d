"""Data-parallel runs (``job.resources.workers: N``): the ranks besides the run's own process.

Rank 0 is the process that runs the pipeline (the CLI, a job's worker, the Python API): it
records the run, runs the callbacks, writes checkpoints and packages the model. Ranks 1 to
N-1 only train: they prepare the same data, build the same network and fit with the same
spec and seed (:func:`follow`), without callbacks or writes. On one machine,
:func:`local_ranks` starts them as child processes that meet rank 0 on loopback; on a Ray
cluster Ray Train starts every rank (:mod:`athanor.jobs.ray_training`).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from athanor.data.prepare import prepare
from athanor.errors import UserError
from athanor.nets.builder import build_network
from athanor.settings import Settings, current_settings
from athanor.spec.run import RunSpec
from athanor.training.devices import select_device
from athanor.training.distributed import (
    SINGLE,
    DistributedContext,
    end_process_group,
    start_process_group,
)
from athanor.training.losses import uses_single_logit
from athanor.training.parameters import freeze
from athanor.training.trainer import FitResult, Trainer
from athanor.training.transfer import apply_transfer

FOLLOWER_EXIT_SECONDS = 60.0
PR_SET_PDEATHSIG = 1


def rank_device(requested: str, local_rank: int, world_size: int) -> torch.device:
    """The device of a rank: ``cuda:<local rank>`` when ``train.device`` picks CUDA (one
    GPU per rank, NCCL), else the CPU (gloo).

    Raises:
        UserError: fewer visible GPUs than ranks, or a device DDP does not run on (MPS).
    """
    chosen = select_device(requested)
    if chosen.type == "cuda":
        visible = torch.cuda.device_count()
        if visible < world_size:
            raise UserError(
                f"job.resources.workers: {world_size} workers on GPUs need one GPU each; "
                f"{visible} visible (CUDA_VISIBLE_DEVICES, --gpus, job.resources.gpus)"
            )
        return torch.device("cuda", local_rank)
    if chosen.type != "cpu":
        raise UserError(
            f"job.resources.workers: {world_size} workers cannot train on {chosen.type}; "
            "valid: train.device cpu or cuda"
        )
    return chosen


@dataclass(frozen=True)
class RankPlan:
    """What a follower rank needs to train its part of a run (sent as JSON)."""

    spec: dict[str, Any]
    checkpoint_dir: str
    resume_from: str | None
    address: str
    world_size: int
    home: str
    data_mirrors: list[str]
    offline: bool

    @classmethod
    def of(
        cls,
        spec: RunSpec,
        *,
        checkpoint_dir: Path,
        resume_from: Path | None,
        address: str,
        settings: Settings,
    ) -> RankPlan:
        return cls(
            spec=spec.model_dump(mode="json"),
            checkpoint_dir=str(checkpoint_dir),
            resume_from=str(resume_from) if resume_from is not None else None,
            address=address,
            world_size=spec.job.resources.workers,
            home=str(settings.home),
            data_mirrors=[str(p) for p in settings.data_mirrors],
            offline=settings.offline,
        )

    def settings(self) -> Settings:
        """Where the data is found (the store itself is rank 0's alone)."""
        home = Path(self.home)
        return Settings(
            home=home,
            db_url=f"sqlite:///{home / 'athanor.db'}",
            data_mirrors=tuple(Path(p) for p in self.data_mirrors),
            offline=self.offline,
        )


def follow(
    spec: RunSpec,
    context: DistributedContext,
    *,
    checkpoint_dir: Path,
    resume_from: Path | None,
    settings: Settings | None = None,
) -> FitResult:
    """Train as rank ``context.rank`` (not 0) of a run: same data, network, spec and seed
    as rank 0, no callbacks, no writes (rank 0 checkpoints the state of all ranks)."""
    prepared = prepare(spec.data, spec.seed, settings=settings)
    if uses_single_logit(spec.train.loss, prepared.schema):
        prepared.schema = prepared.schema.model_copy(update={"single_logit": True})
    # Initial weights come from rank 0 (DDP broadcasts them): no pretrained download here.
    network = build_network(spec.model, prepared.schema, seed=spec.seed)
    if spec.train.freeze:
        freeze(network, spec.train.freeze)
    apply_transfer(network, spec.train.transfer)
    trainer = Trainer(
        spec.train, seed=spec.seed, checkpoint_dir=checkpoint_dir, distributed=context
    )
    return trainer.fit(network, prepared, resume_from=resume_from)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> None:
    """In a follower before it runs: SIGKILL when rank 0 ends (Linux), so that a killed run
    never leaves ranks waiting; Ctrl-C is rank 0's to handle."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


@contextlib.contextmanager
def local_ranks(
    spec: RunSpec,
    *,
    checkpoint_dir: Path,
    resume_from: Path | None,
    settings: Settings | None = None,
) -> Iterator[DistributedContext]:
    """Rank 0's place in a run of ``job.resources.workers`` ranks on this machine.

    Starts ranks 1 to N-1 as child processes (``python -m athanor.runs.distributed``), joins
    them on loopback as rank 0 and yields rank 0's context; afterwards leaves the group and
    waits for the children. One worker: yields the single-process context, starting nothing.
    """
    world = spec.job.resources.workers
    if world == 1:
        yield SINGLE
        return
    device = rank_device(spec.train.device, 0, world)
    address = f"127.0.0.1:{_free_port()}"
    plan = RankPlan.of(
        spec,
        checkpoint_dir=checkpoint_dir,
        resume_from=resume_from,
        address=address,
        settings=settings or current_settings(),
    )
    followers: list[subprocess.Popen[bytes]] = []
    try:
        for rank in range(1, world):
            follower = subprocess.Popen(
                [sys.executable, "-m", "athanor.runs.distributed", str(rank)],
                stdin=subprocess.PIPE,
                close_fds=True,
                preexec_fn=_die_with_parent,
            )
            followers.append(follower)
            assert follower.stdin is not None
            follower.stdin.write(json.dumps(asdict(plan)).encode())
            follower.stdin.close()
        context = start_process_group(0, world, address, device)
    except BaseException:
        for follower in followers:
            follower.kill()
        raise
    try:
        yield context
    finally:
        end_process_group()
        for follower in followers:
            try:
                follower.wait(timeout=FOLLOWER_EXIT_SECONDS)
            except subprocess.TimeoutExpired:
                follower.kill()
                follower.wait()


def main(argv: list[str] | None = None) -> int:
    """``python -m athanor.runs.distributed RANK``: a follower rank; its plan on stdin."""
    rank = int((argv if argv is not None else sys.argv[1:])[0])
    plan = RankPlan(**json.loads(sys.stdin.read()))
    spec = RunSpec.model_validate(plan.spec)
    device = rank_device(spec.train.device, rank, plan.world_size)
    context = start_process_group(rank, plan.world_size, plan.address, device)
    try:
        follow(
            spec,
            context,
            checkpoint_dir=Path(plan.checkpoint_dir),
            resume_from=Path(plan.resume_from) if plan.resume_from else None,
            settings=plan.settings(),
        )
    finally:
        end_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
