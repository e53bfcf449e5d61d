"""Batching: every sample once per epoch, a seeded order, resumable mid-epoch."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import torch

from athanor.data.batching import (
    LazySplit,
    StreamingBatches,
    TensorBatches,
    TensorSplit,
    epoch_order,
    load_rows,
)
from athanor.data.preprocessing import Preprocessor, Standardize, ToFloat


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


def load_bytes(source: np.ndarray, rows: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(load_rows(source, rows))


def byte_images(n: int) -> tuple[LazySplit, torch.Tensor]:
    images = np.random.default_rng(0).integers(0, 256, (n, 3, 6, 5), dtype=np.uint8)
    preprocessor = Preprocessor([ToFloat(1 / 255), Standardize("channel")])
    preprocessor.fit(torch.from_numpy(images), None)
    load = partial(load_bytes, images)
    split = LazySplit(load, torch.arange(n), preprocessor.transform, n)
    return split, preprocessor.transform(torch.from_numpy(images))


@pytest.mark.parametrize("augment", [None, {"flip": True}])
def test_streamed_images_resume_exactly_and_match_preprocessing_in_memory(
    augment: dict | None,
) -> None:
    # Unaugmented batches travel as bytes and are preprocessed on arrival: same values.
    split, expected = byte_images(70)
    source = StreamingBatches(split, 16, shuffle=True, seed=4, workers=2, augment=augment)
    full = list(source.epoch(3))
    resumed = list(source.epoch(3, start_batch=2))
    assert len(full) == 5 and len(resumed) == 3
    for (x, y), (rx, ry) in zip(full[2:], resumed, strict=True):
        assert torch.equal(x, rx) and torch.equal(y, ry)
    order = epoch_order(70, 4, 3)
    seen = torch.cat([y for _, y in full])
    assert torch.equal(seen, order)
    inputs = torch.cat([x for x, _ in full])
    assert inputs.dtype == torch.float32
    if augment is None:
        assert torch.equal(inputs, expected[order])
    else:  # flipped images, each either as it was or mirrored left-right
        assert not torch.equal(inputs, expected[order])
        for got, want in zip(inputs, expected[order], strict=True):
            assert torch.equal(got, want) or torch.equal(got, want.flip(-1))
