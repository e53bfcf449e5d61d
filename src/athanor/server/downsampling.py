"""Metric series thinned for charts: at most N points that keep every peak and dip.

A chart a few hundred pixels wide cannot show 100,000 points, and sending them costs more
than drawing them. :func:`min_max_buckets` cuts a series into equal runs of points and keeps,
from each, its lowest and its highest point (in step order), plus the first and last point
of the series: a spike in the loss survives thinning, where averaging or taking every k-th
point would hide it.
"""

from __future__ import annotations

import numpy as np


def min_max_buckets(steps: np.ndarray, values: np.ndarray, max_points: int) -> np.ndarray:
    """Indices of the points to keep, in step order.

    Args:
        steps: the points' steps, in order.
        values: their values (NaN for a value that was not finite; never chosen as a min
            or max, but a bucket of NaNs keeps one, so gaps stay visible).
        max_points: the most points to keep (at least 4).

    Returns:
        Sorted indices into ``steps``; all of them when there are at most ``max_points``.

    Raises:
        ValueError: ``max_points`` below 4, or arrays of different lengths.
    """
    if max_points < 4:
        raise ValueError(f"max_points must be at least 4 (got {max_points})")
    count = len(steps)
    if len(values) != count:
        raise ValueError(f"{count} steps but {len(values)} values")
    if count <= max_points:
        return np.arange(count)
    buckets = (max_points - 2) // 2
    inner = np.arange(1, count - 1)
    edges = np.linspace(0, len(inner), buckets + 1).astype(np.int64)
    keep = [np.array([0, count - 1])]
    missing = np.isnan(values)
    lows = np.where(missing, np.inf, values)
    highs = np.where(missing, -np.inf, values)
    starts, ends = edges[:-1], edges[1:]
    nonempty = ends > starts
    starts, ends = starts[nonempty], ends[nonempty]
    # Every bucket at once: reduceat gives each bucket's extreme value, then the first
    # position reaching it.
    low_values = np.minimum.reduceat(lows[inner], starts)
    high_values = np.maximum.reduceat(highs[inner], starts)
    bucket_of = np.repeat(np.arange(len(starts)), ends - starts)
    positions = np.arange(len(inner))
    beyond = len(inner)
    for extremes, series in ((low_values, lows[inner]), (high_values, highs[inner])):
        # the first position of each bucket where the series reaches the bucket's extreme
        hits = np.where(series == extremes[bucket_of], positions, beyond)
        keep.append(inner[np.minimum.reduceat(hits, starts)])
    return np.unique(np.concatenate(keep))
