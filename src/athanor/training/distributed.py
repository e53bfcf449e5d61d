"""Data-parallel training with ``torch.distributed``: process groups, shards and reductions.

N processes (ranks) train one run together. Every rank draws the same *global* batches a
single process would (the seeded order and augmentation of :mod:`athanor.data.batching`,
``train.batch_size`` samples each) and keeps its own contiguous shard of each one, so N
ranks see, between them, exactly the samples of the single-process batch. The network is
wrapped in :class:`~torch.nn.parallel.DistributedDataParallel`; each rank weights its loss
by its share of the global batch, so the averaged gradient is the gradient of the global
batch's mean loss. Running sums (loss, metric counts) stay per rank and are all-reduced
(summed, never averaged averages) when an epoch's results or a checkpoint need them.

The backend follows the device: NCCL for CUDA GPUs (one GPU per rank), gloo on CPUs.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

from athanor.data.batching import BatchSource

TIMEOUT = timedelta(minutes=10)
"""How long a collective waits for a silent rank (one that died is noticed at once)."""


class PeerLost(RuntimeError):
    """Another rank of the run failed or went away (a collective could not complete)."""


def backend_for(device: torch.device) -> str:
    """``nccl`` for CUDA devices, ``gloo`` otherwise."""
    return "nccl" if device.type == "cuda" else "gloo"


@dataclass(frozen=True)
class DistributedContext:
    """Which rank this process is, among how many, and where its collectives run.

    ``device`` is the rank's training device when the launcher chose one (``cuda:<local
    rank>``); ``None`` lets ``train.device`` decide (CPU ranks).
    """

    rank: int = 0
    world_size: int = 1
    device: torch.device | None = field(default=None, compare=False)

    @property
    def active(self) -> bool:
        """Whether there is more than one rank (collectives are needed)."""
        return self.world_size > 1

    @property
    def leader(self) -> bool:
        """Rank 0: the one that writes checkpoints, metrics and the store's records."""
        return self.rank == 0


SINGLE = DistributedContext()
"""One process, no collectives: what training is without data parallelism."""


def start_process_group(
    rank: int, world_size: int, address: str, device: torch.device
) -> DistributedContext:
    """Join the run's process group at ``address`` (``host:port`` of rank 0's rendezvous).

    Args:
        rank: this process's rank (0 to ``world_size - 1``).
        world_size: the number of ranks.
        address: where rank 0 listens (loopback on one machine).
        device: this rank's training device; it picks the backend.
    """
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(
        backend_for(device),
        init_method=f"tcp://{address}",
        rank=rank,
        world_size=world_size,
        timeout=TIMEOUT,
    )
    return DistributedContext(rank, world_size, device)


def joined_context(device: torch.device | None = None) -> DistributedContext:
    """The context of a process group someone else started (Ray Train's workers)."""
    if not dist.is_available() or not dist.is_initialized():
        return SINGLE
    return DistributedContext(dist.get_rank(), dist.get_world_size(), device)


def end_process_group() -> None:
    """Leave the process group, if this process is in one."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def shard_bounds(rows: int, rank: int, world_size: int) -> tuple[int, int]:
    """The rows ``[begin, end)`` of a batch of ``rows`` that ``rank`` trains on.

    Shards are contiguous and differ in size by at most one row; a batch smaller than the
    number of ranks leaves some ranks an empty shard.
    """
    return rows * rank // world_size, rows * (rank + 1) // world_size


class ShardedBatches:
    """A rank's shards of the global batches of ``source`` (a :class:`BatchSource`).

    The global batch is built as in one process (order and augmentation are functions of
    seed, epoch and batch index) and then sliced, so the union of the ranks' shards is the
    single-process batch, on resume too.
    """

    def __init__(self, source: BatchSource, context: DistributedContext) -> None:
        self.source = source
        self.context = context

    def __len__(self) -> int:
        return len(self.source)

    def epoch(
        self, epoch: int, start_batch: int = 0
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        rank, world = self.context.rank, self.context.world_size
        for x, y in self.source.epoch(epoch, start_batch):
            begin, end = shard_bounds(int(x.shape[0]), rank, world)
            xs = x[begin:end]
            yield xs, (xs if y is x else y[begin:end])

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return self.epoch(0)


def shard(source: BatchSource, context: DistributedContext) -> BatchSource:
    """``source`` itself for one process, else this rank's :class:`ShardedBatches`."""
    return ShardedBatches(source, context) if context.active else source


def _collective_device(context: DistributedContext) -> torch.device:
    """Where collective tensors live: the rank's GPU for NCCL, the CPU for gloo."""
    device = context.device
    return device if device is not None and device.type == "cuda" else torch.device("cpu")


_PEER_FAILURES = ("closed by peer", "reset by peer", "Connection refused", "NCCL", "Timed out")


def peer_failure(error: BaseException) -> bool:
    """Whether ``error`` says a collective failed because another rank went away.

    Gloo reports a dead peer as a plain ``RuntimeError`` (``Connection closed by peer``),
    NCCL as :class:`torch.distributed.DistError`; both may come from DDP's gradient hooks.
    """
    if isinstance(error, PeerLost | dist.DistError):
        return True
    return isinstance(error, RuntimeError) and any(s in str(error) for s in _PEER_FAILURES)


def _wrap(error: BaseException) -> PeerLost:
    return PeerLost(f"a collective with the other ranks failed ({error})")


def sum_tensor(value: torch.Tensor, context: DistributedContext) -> torch.Tensor:
    """The sum of ``value`` over all ranks (a new tensor on ``value``'s device)."""
    if not context.active:
        return value.clone()
    work = value.detach().to(_collective_device(context), copy=True)
    try:
        dist.all_reduce(work, op=dist.ReduceOp.SUM)
    except RuntimeError as error:  # only the collective runs here
        raise _wrap(error) from error
    return work.to(value.device)


def sum_number(value: int | float, context: DistributedContext) -> int | float:
    """The sum of a Python number over all ranks (ints stay ints, exactly)."""
    if not context.active:
        return value
    dtype = torch.int64 if isinstance(value, int) else torch.float64
    total = sum_tensor(torch.tensor(value, dtype=dtype), context)
    return int(total) if isinstance(value, int) else float(total)


def any_rank(flag: bool, context: DistributedContext) -> bool:
    """Whether ``flag`` is true on at least one rank."""
    return bool(sum_number(int(flag), context)) if context.active else flag


def gather(value: Any, context: DistributedContext) -> list[Any]:
    """Every rank's ``value`` (picklable), by rank."""
    if not context.active:
        return [value]
    gathered: list[Any] = [None] * context.world_size
    try:
        dist.all_gather_object(gathered, value)
    except RuntimeError as error:  # only the collective runs here
        raise _wrap(error) from error
    return gathered


def from_leader(value: Any, context: DistributedContext) -> Any:
    """Rank 0's ``value`` (picklable), on every rank."""
    if not context.active:
        return value
    box = [value]
    try:
        dist.broadcast_object_list(box, src=0)
    except RuntimeError as error:  # only the collective runs here
        raise _wrap(error) from error
    return box[0]


def sum_state(
    state: dict[str, Any], context: DistributedContext, *, per_sample: bool = False
) -> dict[str, Any]:
    """A metric's state (:meth:`Metric.state_dict`) over all ranks, as a new dict.

    Sums and counts (numbers, tensors, a confusion matrix) are added up in rank order;
    ``None`` (a rank that saw nothing yet) adds nothing. With ``per_sample`` (the scores a
    ranking metric keeps per sample) the values are joined, rank by rank, instead. The
    states travel as one gathered object, so ranks may hold different types (``0`` on one,
    a tensor on another).
    """
    if not context.active:
        return copy.deepcopy(state)
    states = gather({key: _to_cpu(value) for key, value in state.items()}, context)
    combined: dict[str, Any] = {}
    for key, value in state.items():
        parts = [s[key] for s in states if s[key] is not None]
        if not parts:
            combined[key] = None
        elif per_sample:
            combined[key] = _join(parts, like=value)
        else:
            total = parts[0]
            for part in parts[1:]:
                total = total + part
            combined[key] = total.to(value.device) if isinstance(value, torch.Tensor) else total
    return combined


def _to_cpu(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, list):
        return [_to_cpu(v) for v in value]
    return value


def _join(parts: list[Any], like: Any) -> Any:
    """Rank-ordered values joined: lists and tensors concatenated."""
    device = like.device if isinstance(like, torch.Tensor) else None
    if isinstance(parts[0], list):
        return [item for part in parts for item in part]
    if isinstance(parts[0], torch.Tensor):
        tensor = torch.cat(parts)
        return tensor.to(device) if device is not None else tensor
    return parts[0]


__all__ = [
    "SINGLE",
    "DistributedContext",
    "PeerLost",
    "ShardedBatches",
    "any_rank",
    "backend_for",
    "end_process_group",
    "from_leader",
    "gather",
    "joined_context",
    "peer_failure",
    "shard",
    "shard_bounds",
    "start_process_group",
    "sum_number",
    "sum_state",
    "sum_tensor",
]
