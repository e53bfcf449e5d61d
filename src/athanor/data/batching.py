"""In-memory batching: tensors held whole (on the training device) and sliced by index.

A seeded permutation per epoch gives the batch order; the same seed and epoch always give the
same order, so a run can resume from any batch of any epoch exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import torch


class BatchSource(Protocol):
    """Batches of one split for one consumer (the trainer, an evaluation).

    ``len()`` is the number of batches per epoch; ``epoch(e, start_batch)`` yields the
    ``(inputs, targets)`` batches of epoch ``e`` from ``start_batch`` on, on the device the
    source was made for. The order (and any random augmentation) must be a pure function of
    the source's seed, the epoch and the batch index, so that training resumes exactly.
    """

    def __len__(self) -> int: ...

    def epoch(
        self, epoch: int, start_batch: int = 0
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]: ...


@dataclass
class TensorSplit:
    """Inputs and targets of one split, as tensors."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def to(self, device: torch.device | str) -> TensorSplit:
        non_blocking = torch.device(device).type == "cuda"
        return TensorSplit(
            self.x.to(device, non_blocking=non_blocking),
            self.y.to(device, non_blocking=non_blocking),
        )


def epoch_order(
    size: int, seed: int, epoch: int, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """The shuffled sample order of ``epoch`` (a pure function of seed and epoch)."""
    generator = torch.Generator(device="cpu")
    generator.manual_seed((seed * 1_000_003 + epoch) % (2**63 - 1))
    return torch.randperm(size, generator=generator).to(device)


class TensorBatches:
    """Batches of a :class:`TensorSplit`, shuffled per epoch or in order.

    Args:
        split: the data; its tensors stay where they are (move them to the device first).
        batch_size: samples per batch; the last batch may be smaller unless ``drop_last``.
        shuffle: draw a seeded permutation per epoch (default True).
        seed: seeds the permutations (default 0).
        drop_last: skip a final incomplete batch (default False).
    """

    def __init__(
        self,
        split: TensorSplit,
        batch_size: int,
        *,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        self.split = split
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last

    def __len__(self) -> int:
        size = len(self.split)
        return size // self.batch_size if self.drop_last else -(-size // self.batch_size)

    def epoch(
        self, epoch: int, start_batch: int = 0
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The batches of ``epoch``, from batch ``start_batch`` on."""
        x, y = self.split.x, self.split.y
        size = len(self.split)
        order = epoch_order(size, self.seed, epoch, x.device) if self.shuffle else None
        for index in range(start_batch, len(self)):
            begin = index * self.batch_size
            end = min(begin + self.batch_size, size)
            if order is None:
                yield x[begin:end], y[begin:end]
            else:
                chosen = order[begin:end]
                yield x.index_select(0, chosen), y.index_select(0, chosen)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return self.epoch(0)
