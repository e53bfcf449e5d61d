"""Per-minute requests, errors and latency of each deployment, for the console's charts.

Every prediction or generation request a deployment answers is counted in the bucket of the
minute it ended in: its status class (2xx, 4xx, 5xx) and its latency, the latter in a
log-scaled histogram whose bins are 5 % wide, so that the median and 95th percentile of a
minute come back within 2.5 % whatever the traffic, in memory bounded by the number of bins
used. Buckets are kept in memory for :data:`KEEP_MINUTES` (a day); on the platform,
:class:`~athanor.server.deployment_monitor.DeploymentMonitor` writes each closed minute to the
store, where it outlives a restart. A deleted deployment's traffic is forgotten with it.
(The lifetime totals of a standalone model server are its Prometheus metrics instead.)

Requests refused before they reach the deployment (a body over the limit, a missing token) and
requests for a deployment that is not serving are not counted.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from athanor.serve.input_drift import InputSketch

KEEP_MINUTES = 24 * 60
BIN_RATIO = 1.05
"""Width of a latency bin: each holds latencies within 5 % of each other."""
SMALLEST_SECONDS = 1e-6


@dataclass
class MinuteBucket:
    """What one deployment answered during one minute."""

    minute: int
    """Minutes since the Unix epoch."""
    requests: int = 0
    client_errors: int = 0
    server_errors: int = 0
    latency_bins: dict[int, int] = field(default_factory=dict)
    inputs: InputSketch | None = None
    """The sketch of the inputs served this minute (see :mod:`athanor.serve.input_drift`)."""
    flushed: bool = False
    """Written to the store (the platform's last write of a minute; no request comes after)."""

    def add(self, status: int, seconds: float) -> None:
        self.requests += 1
        if 400 <= status < 500:
            self.client_errors += 1
        elif status >= 500:
            self.server_errors += 1
        index = _latency_bin(seconds)
        self.latency_bins[index] = self.latency_bins.get(index, 0) + 1


class DeploymentTraffic:
    """Minute buckets of every deployment's requests, the last :data:`KEEP_MINUTES` of them.

    Called from the event loop only (the prediction routes are async), so it needs no lock.

    Args:
        keep_minutes: how many minutes of buckets each deployment keeps.
        clock: seconds since the epoch (tests pass their own).
    """

    def __init__(
        self, keep_minutes: int = KEEP_MINUTES, clock: Callable[[], float] = time.time
    ) -> None:
        self.keep_minutes = keep_minutes
        self.clock = clock
        self.started = clock()
        self._buckets: dict[str, deque[MinuteBucket]] = {}

    def record(self, name: str, status: int, seconds: float) -> None:
        """Count one request to deployment ``name``, answered ``status`` after ``seconds``."""
        self.bucket(name).add(status, seconds)

    def bucket(self, name: str) -> MinuteBucket:
        """The current minute's bucket of deployment ``name`` (created when it has none)."""
        minute = int(self.clock() // 60)
        buckets = self._buckets.setdefault(name, deque())
        if not buckets or buckets[-1].minute != minute:
            buckets.append(MinuteBucket(minute))
            while buckets[0].minute <= minute - self.keep_minutes:
                buckets.popleft()
        return buckets[-1]

    def unflushed(self, *, closed_only: bool = True) -> list[tuple[str, MinuteBucket]]:
        """Every deployment's buckets not yet written to the store, oldest first; only the
        minutes that have ended unless ``closed_only`` is False (the platform stopping)."""
        now = int(self.clock() // 60)
        return [
            (name, bucket)
            for name, buckets in self._buckets.items()
            for bucket in buckets
            if not bucket.flushed and (bucket.minute < now or not closed_only)
        ]

    def unflushed_of(self, name: str) -> dict[int, MinuteBucket]:
        """Deployment ``name``'s minutes not yet in the store, by minute."""
        return {b.minute: b for b in self._buckets.get(name, ()) if not b.flushed}

    def forget(self, name: str) -> None:
        """Drop a deleted deployment's buckets."""
        self._buckets.pop(name, None)

    def series(self, name: str, minutes: int) -> dict[str, Any]:
        """The last ``minutes`` minutes of ``name`` (the current one last), every minute listed.

        Returns:
            ``points``: per minute its start (ISO 8601, UTC), ``requests``, ``errors``
            (``client_errors`` + ``server_errors``) and the ``p50_ms``/``p95_ms`` latency
            (``None`` in a minute without requests); ``totals`` over the window; ``since``:
            when counting began (the platform's start).
        """
        minutes = max(1, min(minutes, self.keep_minutes))
        now = int(self.clock() // 60)
        first = now - minutes + 1
        kept = {bucket.minute: bucket for bucket in self._buckets.get(name, ())}
        total = MinuteBucket(first)
        points = []
        for minute in range(first, now + 1):
            bucket = kept.get(minute) or MinuteBucket(minute)
            points.append(_point(bucket))
            total.requests += bucket.requests
            total.client_errors += bucket.client_errors
            total.server_errors += bucket.server_errors
            for index, count in bucket.latency_bins.items():
                total.latency_bins[index] = total.latency_bins.get(index, 0) + count
        totals = _point(total)
        del totals["minute"]
        return {
            "deployment": name,
            "minutes": minutes,
            "since": _iso(self.started),
            "points": points,
            "totals": totals,
        }


def _point(bucket: MinuteBucket) -> dict[str, Any]:
    return {
        "minute": _iso(bucket.minute * 60),
        "requests": bucket.requests,
        "errors": bucket.client_errors + bucket.server_errors,
        "client_errors": bucket.client_errors,
        "server_errors": bucket.server_errors,
        "p50_ms": _percentile_ms(bucket.latency_bins, 0.50),
        "p95_ms": _percentile_ms(bucket.latency_bins, 0.95),
    }


def latency_percentiles(bins: dict[int, int]) -> tuple[float | None, ...]:
    """The p50, p95 and p99 latency in milliseconds of a histogram (None when empty)."""
    return tuple(_percentile_ms(bins, q) for q in (0.50, 0.95, 0.99))


def _latency_bin(seconds: float) -> int:
    return math.floor(math.log(max(seconds, SMALLEST_SECONDS)) / math.log(BIN_RATIO))


def _percentile_ms(bins: dict[int, int], quantile: float) -> float | None:
    """The latency below which ``quantile`` of the requests fell (a bin's geometric middle)."""
    count = sum(bins.values())
    if not count:
        return None
    rank = max(1, math.ceil(quantile * count))
    seen = 0
    for index in sorted(bins):
        seen += bins[index]
        if seen >= rank:
            return round(BIN_RATIO ** (index + 0.5) * 1000, 3)
    raise AssertionError("unreachable: the ranks add up to the count")


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")
