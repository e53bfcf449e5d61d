"""In-memory batching: every sample once per epoch, a seeded order, resumable mid-epoch."""

from __future__ import annotations

import torch

from athanor.data.batching import TensorBatches, TensorSplit, epoch_order


def split(n: int) -> TensorSplit:
    return TensorSplit(torch.arange(n, dtype=torch.float32).view(n, 1), torch.arange(n))


def test_each_epoch_is_a_permutation_and_orders_differ_by_epoch() -> None:
    batches = TensorBatches(split(103), 10, seed=5)
    assert len(batches) == 11
    seen = torch.cat([y for _, y in batches.epoch(0)])
    assert sorted(seen.tolist()) == list(range(103))
    assert not torch.equal(seen, torch.cat([y for _, y in batches.epoch(1)]))
    assert torch.equal(
        seen, torch.cat([y for _, y in TensorBatches(split(103), 10, seed=5).epoch(0)])
    )


def test_resuming_mid_epoch_gives_the_remaining_batches() -> None:
    batches = TensorBatches(split(50), 8, seed=1)
    full = [y for _, y in batches.epoch(2)]
    rest = [y for _, y in batches.epoch(2, start_batch=4)]
    assert all(torch.equal(a, b) for a, b in zip(full[4:], rest, strict=True))
    assert torch.equal(epoch_order(50, 1, 2), torch.cat(full))


def test_unshuffled_and_drop_last() -> None:
    ordered = TensorBatches(split(10), 4, shuffle=False)
    assert [y.tolist() for _, y in ordered.epoch(0)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert len(TensorBatches(split(10), 4, drop_last=True)) == 2
    x, y = next(iter(ordered))
    assert torch.equal(x[:, 0].long(), y)
