"""Metric series thinned for charts keep their first and last points and every bucket's
lowest and highest value."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from athanor.server.downsampling import min_max_buckets


def test_a_short_series_is_kept_whole() -> None:
    steps = np.arange(50)
    assert min_max_buckets(steps, np.sin(steps / 3.0), 600).tolist() == list(range(50))


def test_a_long_series_keeps_at_most_the_points_asked_for_with_its_spikes_and_dips() -> None:
    rng = np.random.default_rng(0)
    count = 100_000
    steps = np.arange(count) * 2
    values = 1.0 / (1.0 + np.arange(count) / 1000.0) + rng.normal(0.0, 0.01, count)
    spike, dip = 61_234, 12_345
    values[spike], values[dip] = 9.0, -3.0

    keep = min_max_buckets(steps, values, 2000)

    assert len(keep) <= 2000 and len(keep) > 1500
    assert np.all(np.diff(keep) > 0)  # in step order, no point twice
    assert keep[0] == 0 and keep[-1] == count - 1
    assert spike in keep and dip in keep
    # every bucket's extremes survive: the thinned curve spans the same range everywhere
    inner = np.arange(1, count - 1)
    edges = np.linspace(0, len(inner), (2000 - 2) // 2 + 1).astype(np.int64)
    buckets = [inner[start:end] for start, end in itertools.pairwise(edges)]
    kept = set(keep.tolist())
    for bucket in buckets[:: len(buckets) // 50]:
        chunk = values[bucket]
        assert bucket[int(np.argmin(chunk))] in kept
        assert bucket[int(np.argmax(chunk))] in kept


def test_gaps_stay_visible_and_are_never_taken_for_extremes() -> None:
    values = np.linspace(0.0, 1.0, 1000)
    values[400:460] = np.nan  # a stretch of non-finite values (a diverged loss)
    keep = min_max_buckets(np.arange(1000), values, 100)
    chosen = values[keep]
    assert np.isnan(chosen).any()  # the gap is still drawn as a gap
    assert np.nanmin(chosen) == 0.0 and np.nanmax(chosen) == 1.0


@pytest.mark.parametrize("max_points", [0, 3])
def test_too_few_points_asked_for_is_refused(max_points: int) -> None:
    with pytest.raises(ValueError, match="at least 4"):
        min_max_buckets(np.arange(10), np.zeros(10), max_points)


def test_steps_and_values_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="10 steps but 9 values"):
        min_max_buckets(np.arange(10), np.zeros(9), 8)
