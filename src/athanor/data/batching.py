"""Batching: in-memory tensors sliced by index, or streaming through DataLoader workers.

A seeded permutation per epoch gives the batch order; the same seed and epoch always give the
same order, so a run can resume from any batch of any epoch exactly. Random augmentation is
drawn per batch from (seed, epoch, batch index) for the same reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from athanor.data.augment import Augmenter, augment_batch, batch_generator


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
        x = self.x.to(device, non_blocking=non_blocking)
        if self.y is self.x:  # reconstruction: one tensor serves as input and target
            return TensorSplit(x, x)
        return TensorSplit(x, self.y.to(device, non_blocking=non_blocking))


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
        same = y is x
        for index in range(start_batch, len(self)):
            begin = index * self.batch_size
            end = min(begin + self.batch_size, size)
            if order is None:
                xb = x[begin:end]
                yield xb, (xb if same else y[begin:end])
            else:
                chosen = order[begin:end]
                xb = x.index_select(0, chosen)
                yield xb, (xb if same else y.index_select(0, chosen))

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return self.epoch(0)


class AugmentedBatches:
    """Training batches of a :class:`TensorBatches` with random image augmentation.

    Batch ``i`` of epoch ``e`` is augmented with a generator seeded from ``(seed, e, i)``
    (see :mod:`athanor.data.augment`): resuming at any batch reproduces it exactly. A
    reconstruction target (``y`` is ``x``) is the augmented input.
    """

    def __init__(
        self,
        batches: TensorBatches,
        options: dict[str, Any],
        seed: int,
        *,
        augmenter: Augmenter = augment_batch,
    ) -> None:
        self.batches = batches
        self.options = options
        self.seed = seed
        self.augmenter = augmenter

    def __len__(self) -> int:
        return len(self.batches)

    def epoch(
        self, epoch: int, start_batch: int = 0
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for index, (x, y) in enumerate(self.batches.epoch(epoch, start_batch), start_batch):
            yield self.augmenter(x, y, self.options, batch_generator(self.seed, epoch, index))

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return self.epoch(0)


class LazySplit:
    """A split read batch by batch from its source instead of being held as tensors.

    Args:
        load: returns the raw inputs of the given sample indices (e.g. images read from a
            memory-mapped file and resized); must be usable from worker processes.
        targets: the targets of every sample (``y is None``: reconstruction, y = x).
        transform: raw inputs -> the network's inputs (the fitted preprocessor).
        size: number of samples.
    """

    def __init__(
        self,
        load: Callable[[np.ndarray], Any],
        targets: torch.Tensor | None,
        transform: Callable[[Any], torch.Tensor],
        size: int,
    ) -> None:
        self.load = load
        self.targets = targets
        self.transform = transform
        self.size = size

    def __len__(self) -> int:
        return self.size


class _BatchDataset(torch.utils.data.Dataset):
    """Map-style dataset whose items are whole batches, keyed by (epoch, index, samples)."""

    def __init__(
        self,
        split: LazySplit,
        augment: dict[str, Any] | None,
        seed: int,
        augmenter: Augmenter = augment_batch,
    ) -> None:
        self.split = split
        self.augment = augment
        self.seed = seed
        self.augmenter = augmenter

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(
        self, key: tuple[int, int, np.ndarray]
    ) -> tuple[torch.Tensor, torch.Tensor, bool]:
        """The batch of ``key`` and whether its inputs are transformed already.

        Images (``uint8`` tensors) of a batch without augmentation come back as bytes: a
        quarter of the float data to pass between processes, and the preprocessing runs
        where the batch goes (on the GPU when training there), giving the same values.
        """
        epoch, index, samples = key
        raw = self.split.load(samples)
        targets = self.split.targets
        if (
            not self.augment
            and targets is not None
            and isinstance(raw, torch.Tensor)
            and raw.dtype == torch.uint8
        ):
            return raw, targets[torch.from_numpy(samples)], False
        x = self.split.transform(raw)
        y = x if targets is None else targets[torch.from_numpy(samples)]
        if self.augment:
            x, y = self.augmenter(x, y, self.augment, batch_generator(self.seed, epoch, index))
        return x, y, True


class _EpochBatchSampler(torch.utils.data.Sampler):
    """Yields ``(epoch, batch index, sample indices)`` of one epoch from ``start_batch`` on."""

    def __init__(
        self, size: int, batch_size: int, shuffle: bool, seed: int, epoch: int, start: int
    ) -> None:
        self.size, self.batch_size, self.shuffle = size, batch_size, shuffle
        self.seed, self.epoch_number, self.start = seed, epoch, start

    def __len__(self) -> int:
        return max(0, -(-self.size // self.batch_size) - self.start)

    def __iter__(self) -> Iterator[tuple[int, int, np.ndarray]]:
        order = (
            epoch_order(self.size, self.seed, self.epoch_number).numpy()
            if self.shuffle
            else np.arange(self.size)
        )
        batches = -(-self.size // self.batch_size)
        for index in range(self.start, batches):
            chosen = order[index * self.batch_size : (index + 1) * self.batch_size]
            yield self.epoch_number, index, np.sort(chosen) if not self.shuffle else chosen


class StreamingBatches:
    """Batches of a :class:`LazySplit` assembled by DataLoader worker processes.

    The order is :func:`epoch_order` of (seed, epoch), exactly as in memory, and each batch
    is loaded, preprocessed and augmented as a whole from its key, so workers may finish in
    any order without changing what the trainer sees; ``epoch(e, start_batch)`` starts at
    any batch.

    Args:
        split: the lazily loaded split.
        batch_size: samples per batch.
        shuffle: seeded permutation per epoch (default False).
        seed: seeds order and augmentation.
        workers: DataLoader worker processes (0: load in this process).
        device: where batches are moved.
        augment: image augmentation options (training batches only).
        augmenter: applies them to a batch (default images only, targets kept).
    """

    def __init__(
        self,
        split: LazySplit,
        batch_size: int,
        *,
        shuffle: bool = False,
        seed: int = 0,
        workers: int = 2,
        device: torch.device | str = "cpu",
        augment: dict[str, Any] | None = None,
        augmenter: Augmenter = augment_batch,
    ) -> None:
        self.split = split
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.workers = workers
        self.device = torch.device(device)
        self.dataset = _BatchDataset(split, augment, seed, augmenter)

    def __len__(self) -> int:
        return -(-len(self.split) // self.batch_size)

    def epoch(
        self, epoch: int, start_batch: int = 0
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        sampler = _EpochBatchSampler(
            len(self.split), self.batch_size, self.shuffle, self.seed, epoch, start_batch
        )
        loader = torch.utils.data.DataLoader(
            self.dataset,
            batch_size=None,
            sampler=sampler,
            num_workers=self.workers,
            pin_memory=self.device.type == "cuda",
        )
        non_blocking = self.device.type == "cuda"
        for x, y, transformed in loader:
            xb = x.to(self.device, non_blocking=non_blocking)
            if not transformed:
                xb = self.split.transform(xb)
            yield xb, (xb if y is x else y.to(self.device, non_blocking=non_blocking))

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return self.epoch(0)


def load_rows(source: Sequence[Any] | np.ndarray, samples: np.ndarray) -> Any:
    """Rows ``samples`` of an array-like source (memory-mapped arrays read only those)."""
    return source[np.asarray(samples)]
