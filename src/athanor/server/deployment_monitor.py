"""Monitored deployments: per-minute history kept in the store, and input drift.

The platform counts each deployment's requests in memory by minute
(:class:`~athanor.server.deployment_traffic.DeploymentTraffic`) and sketches the inputs it is
sent (:mod:`athanor.serve.input_drift`). A background task writes the minutes that have ended
to the store every :data:`FLUSH_SECONDS` in one transaction (never a write per request), the
current minute too when the platform stops, and prunes minutes older than the retention
(``ATHANOR_DEPLOYMENT_HISTORY_DAYS``, 30 days by default) once an hour. Reads merge the stored
minutes with those still in memory, so the live minute shows at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import time
from collections.abc import Callable
from typing import Any

from athanor.errors import UserError
from athanor.serve.input_drift import (
    DRIFTED,
    MAX_SAMPLES_PER_MINUTE,
    SCORE,
    WATCH,
    DriftReference,
    InputSketch,
)
from athanor.server.deployment_traffic import (
    DeploymentTraffic,
    MinuteBucket,
    _iso,
    latency_percentiles,
)
from athanor.store import DeploymentMinute, Store

log = logging.getLogger("athanor.server")

HISTORY_DAYS = 30
"""How long the history is kept unless ``ATHANOR_DEPLOYMENT_HISTORY_DAYS`` says otherwise."""
FLUSH_SECONDS = 10.0
PRUNE_SECONDS = 3600.0
MAX_POINTS = 360
"""Points a history answer has at most: longer windows are shown in steps of several minutes."""
STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440)


def history_days() -> int:
    """``ATHANOR_DEPLOYMENT_HISTORY_DAYS``: whole days from 1 to 3650 (default 30).

    Raises:
        UserError: another value.
    """
    value = os.environ.get("ATHANOR_DEPLOYMENT_HISTORY_DAYS", "").strip()
    if not value:
        return HISTORY_DAYS
    days = int(value) if value.isdigit() else 0
    if not 1 <= days <= 3650:
        raise UserError(
            f"ATHANOR_DEPLOYMENT_HISTORY_DAYS={value!r}: give whole days from 1 to 3650 "
            f"(default {HISTORY_DAYS})"
        )
    return days


def step_for(minutes: int) -> int:
    """The step (minutes per point) that shows ``minutes`` in at most :data:`MAX_POINTS`."""
    for step in STEPS:
        if math.ceil(minutes / step) <= MAX_POINTS:
            return step
    return STEPS[-1]


def merge_minutes(stored: DeploymentMinute, new: DeploymentMinute) -> DeploymentMinute:
    """One minute written twice (the platform restarted within it): counts added."""
    bins = dict(stored.latency_bins)
    for index, count in new.latency_bins.items():
        bins[index] = bins.get(index, 0) + count
    inputs = _sketch(stored.inputs)
    added = _sketch(new.inputs)
    if inputs is None or (added is not None and not inputs.add(added)):
        inputs = added
    p50, p95, p99 = latency_percentiles(bins)
    return DeploymentMinute(
        deployment=new.deployment,
        minute=new.minute,
        requests=stored.requests + new.requests,
        client_errors=stored.client_errors + new.client_errors,
        server_errors=stored.server_errors + new.server_errors,
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
        latency_bins=bins,
        inputs=inputs.to_json() if inputs is not None else None,
    )


def _sketch(data: dict[str, Any] | None) -> InputSketch | None:
    return InputSketch.from_json(data) if data else None


def _stored(name: str, bucket: MinuteBucket) -> DeploymentMinute:
    p50, p95, p99 = latency_percentiles(bucket.latency_bins)
    return DeploymentMinute(
        deployment=name,
        minute=bucket.minute,
        requests=bucket.requests,
        client_errors=bucket.client_errors,
        server_errors=bucket.server_errors,
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
        latency_bins=dict(bucket.latency_bins),
        inputs=bucket.inputs.to_json() if bucket.inputs is not None else None,
    )


class DeploymentMonitor:
    """Keeps deployments' minutes in the store and answers their history and drift.

    Args:
        store: where the minutes are kept.
        traffic: the in-memory minutes the request routes count into.
        flush_seconds: how often ended minutes are written.
    """

    def __init__(
        self, store: Store, traffic: DeploymentTraffic, *, flush_seconds: float = FLUSH_SECONDS
    ) -> None:
        self.store = store
        self.traffic = traffic
        self.flush_seconds = flush_seconds
        self.retention_minutes = history_days() * 24 * 60
        self._references: dict[str, tuple[int, DriftReference | str]] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def clock(self) -> Callable[[], float]:
        return self.traffic.clock

    def start(self) -> None:
        """Start writing ended minutes in the background (on the running event loop)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="monitor")

    async def stop(self) -> None:
        """Stop the background writes and write every minute still in memory."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush(closed_only=False)

    async def _run(self) -> None:
        pruned: float | None = None
        while True:
            await asyncio.sleep(self.flush_seconds)
            try:
                await self.flush()
                if pruned is None or time.monotonic() - pruned > PRUNE_SECONDS:
                    await self.prune()
                    pruned = time.monotonic()
            except Exception:  # the database is away for a while: the minutes wait in memory
                log.warning("deployment history not written; retrying", exc_info=True)

    async def flush(self, *, closed_only: bool = True) -> int:
        """Write the minutes not yet in the store in one transaction; how many there were."""
        pending = self.traffic.unflushed(closed_only=closed_only)
        if not pending:
            return 0
        minutes = [_stored(name, bucket) for name, bucket in pending]
        await asyncio.to_thread(self.store.deployment_history.write, minutes, merge_minutes)
        for _, bucket in pending:
            bucket.flushed = True
        return len(pending)

    async def prune(self) -> int:
        """Delete the stored minutes older than the retention period; how many there were."""
        before = int(self.clock() // 60) - self.retention_minutes + 1
        return await asyncio.to_thread(self.store.deployment_history.prune, before)

    def forget(self, name: str) -> None:
        """A deleted deployment: its memory goes (its stored minutes go with its row)."""
        self.traffic.forget(name)
        self._references.pop(name, None)

    # Inputs -------------------------------------------------------------------------------

    def observer(self, name: str) -> Callable[[Any, Any], None]:
        """What a deployment's served model calls with each request's raw batch."""

        def observe(predictor: Any, raw: Any) -> None:
            self.observe(name, predictor, raw)

        return observe

    def reference(self, name: str, predictor: Any) -> DriftReference | str:
        """The drift reference of the version ``name`` serves (or why there is none)."""
        known = self._references.get(name)
        if known is None or known[0] != id(predictor):
            known = (id(predictor), DriftReference.of(predictor))
            self._references[name] = known
        return known[1]

    def observe(self, name: str, predictor: Any, raw: Any) -> None:
        """Add a request's inputs to the current minute's sketch (up to
        :data:`MAX_SAMPLES_PER_MINUTE` samples a minute)."""
        reference = self.reference(name, predictor)
        if isinstance(reference, str):
            return
        bucket = self.traffic.bucket(name)
        if bucket.inputs is not None and bucket.inputs.samples >= MAX_SAMPLES_PER_MINUTE:
            return
        try:
            sketch = reference.sketch(raw)
        except Exception as exc:  # monitoring never fails a prediction; it says why it stopped
            log.warning("inputs of deployment %s cannot be sketched", name, exc_info=True)
            self._references[name] = (id(predictor), f"inputs could not be sketched: {exc}")
            return
        if bucket.inputs is None or not bucket.inputs.add(sketch):
            bucket.inputs = sketch  # the first request, or a version with other features

    # Reading ------------------------------------------------------------------------------

    def window(self, minutes: int | None, since: float | None) -> tuple[int, int]:
        """The first and last minute of a window ending now: ``minutes`` long, or from
        ``since`` (seconds since the epoch). The route has checked the bounds."""
        now = int(self.clock() // 60)
        if since is not None:
            return int(since // 60), now
        return now - (minutes or 60) + 1, now

    async def minutes(self, name: str, first: int, last: int) -> dict[int, DeploymentMinute]:
        """The stored minutes of ``name`` in the window, with those still in memory (read on
        the event loop, which alone changes them; the store is read in a thread)."""
        live = {
            minute: _stored(name, bucket)
            for minute, bucket in self.traffic.unflushed_of(name).items()
            if first <= minute <= last
        }
        stored = await asyncio.to_thread(self.store.deployment_history.read, name, first, last)
        found = {minute.minute: minute for minute in stored}
        found.update(live)  # a minute written meanwhile is the same or has fewer requests
        return found

    async def history(self, name: str, first: int, last: int) -> dict[str, Any]:
        """Requests, errors and latency percentiles of ``name`` from ``first`` to ``last``,
        in steps of :func:`step_for` minutes, every step listed (zeros when quiet)."""
        count = last - first + 1
        step = step_for(count)
        kept = await self.minutes(name, first, last)
        points = []
        total = _Sum()
        for start in range(first, last + 1, step):
            part = _Sum()
            for minute in range(start, min(start + step, last + 1)):
                if minute in kept:
                    part.add(kept[minute])
                    total.add(kept[minute])
            points.append({"minute": _iso(start * 60), **part.point()})
        return {
            "deployment": name,
            "minutes": count,
            "step_minutes": step,
            "since": _iso(first * 60),
            "retention_days": self.retention_minutes // (24 * 60),
            "points": points,
            "totals": total.point(),
        }

    async def drift(
        self, name: str, first: int, last: int, predictor: Any | None
    ) -> dict[str, Any]:
        """Per feature the drift score of the window's served inputs, and its time series."""
        reference = self.reference(name, predictor) if predictor is not None else None
        kept = await self.minutes(name, first, last)
        features = reference.features if isinstance(reference, DriftReference) else None
        if features is None:  # not serving now: the features of the newest sketch
            sketches = [m.inputs for _, m in sorted(kept.items()) if m.inputs]
            features = sketches[-1]["features"] if sketches else []
        count = last - first + 1
        step = step_for(count)
        window = InputSketch.empty(features)
        series = []
        for start in range(first, last + 1, step):
            part = InputSketch.empty(features)
            for minute in range(start, min(start + step, last + 1)):
                sketch = _sketch(kept[minute].inputs) if minute in kept else None
                if sketch is not None and part.add(sketch):
                    window.add(sketch)
            scores = [entry["score"] for entry in part.scores()]
            series.append({"minute": _iso(start * 60), "samples": part.samples, "scores": scores})
        rows = sorted(window.scores(), key=lambda e: -(e["score"] or 0.0))
        available = isinstance(reference, DriftReference) or bool(window.samples)
        reason = reference if isinstance(reference, str) else None
        if predictor is None and not window.samples:
            reason = "the deployment is not serving and kept no inputs in this window"
        return {
            "deployment": name,
            "available": available,
            "reason": reason,
            "score": SCORE,
            "thresholds": {"watch": WATCH, "drifted": DRIFTED},
            "minutes": count,
            "step_minutes": step,
            "since": _iso(first * 60),
            "samples": window.samples,
            "features": rows,
            "feature_order": list(features),
            "series": series,
        }


class _Sum:
    """Requests, errors and the latency histogram of several minutes."""

    def __init__(self) -> None:
        self.bucket = MinuteBucket(0)

    def add(self, minute: DeploymentMinute) -> None:
        self.bucket.requests += minute.requests
        self.bucket.client_errors += minute.client_errors
        self.bucket.server_errors += minute.server_errors
        bins = self.bucket.latency_bins
        for index, count in minute.latency_bins.items():
            bins[index] = bins.get(index, 0) + count

    def point(self) -> dict[str, Any]:
        p50, p95, p99 = latency_percentiles(self.bucket.latency_bins)
        return {
            "requests": self.bucket.requests,
            "errors": self.bucket.client_errors + self.bucket.server_errors,
            "client_errors": self.bucket.client_errors,
            "server_errors": self.bucket.server_errors,
            "p50_ms": p50,
            "p95_ms": p95,
            "p99_ms": p99,
        }
