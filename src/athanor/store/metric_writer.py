"""A background writer that batches a run's metric points and heartbeats.

The training loop only appends to a list; a thread writes the points in one statement every
``flush_seconds`` (sooner at an epoch's end) and refreshes the run's heartbeat, so no database
write ever happens on the training step. Writes are at least ``min_gap_seconds`` apart, the
first as long after the writer starts: where epochs take a millisecond, a write after each
would hold Python's interpreter lock for a good share of the training's time and make that
time, and the heap, vary from epoch to epoch.
"""

from __future__ import annotations

import threading
import time

from athanor.store.runs import MetricPoint, RunRepository


class MetricWriter:
    """Buffers :class:`MetricPoint` values and writes them from a daemon thread.

    Args:
        runs: the run repository.
        run_id: the run the points belong to.
        flush_seconds: longest time a point waits before it is written (default 2 s).
        heartbeat_seconds: interval of heartbeats while open (default 10 s).
        min_gap_seconds: shortest time between two writes of the thread (default 0.2 s).
    """

    def __init__(
        self,
        runs: RunRepository,
        run_id: int,
        *,
        flush_seconds: float = 2.0,
        heartbeat_seconds: float = 10.0,
        min_gap_seconds: float = 0.2,
    ) -> None:
        self._runs = runs
        self._run_id = run_id
        self._flush_seconds = flush_seconds
        self._heartbeat_seconds = heartbeat_seconds
        self._min_gap_seconds = min_gap_seconds
        self._buffer: list[MetricPoint] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._closed = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._loop, name=f"metrics-run-{run_id}", daemon=True
        )
        self._thread.start()

    def add(self, name: str, value: float, *, step: int, epoch: int) -> None:
        point = MetricPoint(name, step, epoch, float(value), time.time())
        with self._lock:
            self._buffer.append(point)

    def flush(self) -> None:
        """Write what is buffered now, in the caller's thread."""
        self._write()

    def flush_soon(self) -> None:
        """Ask the thread to write now (e.g. at the end of an epoch) without waiting."""
        self._wake.set()

    def close(self) -> None:
        """Write everything still buffered and stop the thread.

        Raises:
            Exception: the error that stopped the writer thread, if any.
        """
        self._closed = True
        self._closing.set()
        self._wake.set()
        self._thread.join()
        self._write()
        if self._error is not None:
            raise self._error

    def _write(self) -> None:
        with self._lock:
            points, self._buffer = self._buffer, []
        if points:
            self._runs.log_metrics(self._run_id, points)

    def _loop(self) -> None:
        next_heartbeat = time.monotonic() + self._heartbeat_seconds
        self._closing.wait(self._min_gap_seconds)  # the run's start wrote; the gap holds
        while not self._closed:
            self._wake.wait(self._flush_seconds)
            self._wake.clear()
            try:
                self._write()
                if time.monotonic() >= next_heartbeat:
                    self._runs.heartbeat(self._run_id)
                    next_heartbeat = time.monotonic() + self._heartbeat_seconds
            except Exception as exc:  # reported by close(); training goes on meanwhile
                self._error = exc
                return
            self._closing.wait(self._min_gap_seconds)  # epoch ends meanwhile share the next
