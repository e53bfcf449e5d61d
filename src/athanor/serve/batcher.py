"""Dynamic batching: requests that arrive together share one forward pass.

One worker thread owns the model. Requests queue up while it runs a batch; it then takes
everything queued (up to ``max_batch_size`` samples) and, if the batch is not full, waits at
most ``max_wait_ms`` for more. Under load, batches fill up by themselves; at low load a lone
request waits at most ``max_wait_ms``. Any thread or event loop may submit; results come back
as futures.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np


class BatcherClosed(RuntimeError):
    """The batcher was closed (its model was swapped out); submit to the current one."""


@dataclass
class _Request:
    raw: np.ndarray
    future: Future[np.ndarray] = field(default_factory=Future)


_STOP = object()


class DynamicBatcher:
    """Run ``run_batch`` on concatenated requests from a single worker thread.

    Args:
        run_batch: maps a raw batch ``[N, ...]`` to results ``[N, ...]`` (row i for sample i).
        max_batch_size: most samples per call (a single larger request runs alone).
        max_wait_ms: how long a batch that is not full waits for more requests.
        on_batch: called after each batch with (samples, requests, seconds), e.g. metrics.
        name: the worker thread's name.
    """

    def __init__(
        self,
        run_batch: Callable[[np.ndarray], np.ndarray],
        *,
        max_batch_size: int = 64,
        max_wait_ms: float = 2.0,
        on_batch: Callable[[int, int, float], None] | None = None,
        name: str = "batcher",
    ) -> None:
        self._run_batch = run_batch
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_ms / 1000.0
        self._on_batch = on_batch
        self._queue: queue.SimpleQueue[_Request | object] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._pending = 0
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pending(self) -> int:
        """Requests submitted and not yet answered."""
        return self._pending

    def submit(self, raw: np.ndarray) -> Future[np.ndarray]:
        """Queue ``raw`` (a batch of one or more samples); the future holds its results.

        Raises:
            BatcherClosed: :meth:`close` was called.
        """
        request = _Request(raw)
        with self._lock:
            if self._closed:
                raise BatcherClosed("this batcher is closed")
            self._pending += 1
            self._queue.put(request)
        return request.future

    async def predict(self, raw: np.ndarray) -> np.ndarray:
        """Await the results for ``raw`` from an event loop."""
        return await asyncio.wrap_future(self.submit(raw))

    def close(self, *, wait: bool = True, timeout: float | None = None) -> None:
        """Refuse new requests, answer every queued one, then stop the worker."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._queue.put(_STOP)
        if wait:
            self._thread.join(timeout)

    def _work(self) -> None:
        held: _Request | None = None
        stopping = False
        while not stopping:
            first = held if held is not None else self._queue.get()
            held = None
            if first is _STOP:
                break
            assert isinstance(first, _Request)
            batch = [first]
            size = len(first.raw)
            deadline = time.monotonic() + self.max_wait_s
            while size < self.max_batch_size:
                try:
                    # Take what is already queued at once; then wait out the deadline.
                    remaining = deadline - time.monotonic()
                    item = (
                        self._queue.get(timeout=remaining)
                        if remaining > 0
                        else self._queue.get_nowait()
                    )
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                assert isinstance(item, _Request)
                if size + len(item.raw) > self.max_batch_size:
                    held = item  # starts the next batch
                    break
                batch.append(item)
                size += len(item.raw)
            self._run(batch, size)
        if held is not None:
            self._run([held], len(held.raw))

    def _run(self, batch: list[_Request], size: int) -> None:
        started = time.perf_counter()
        try:
            raw = batch[0].raw if len(batch) == 1 else np.concatenate([r.raw for r in batch])
            results = self._run_batch(raw)
        except BaseException as exc:
            for request in batch:
                request.future.set_exception(exc)
        else:
            offset = 0
            for request in batch:
                count = len(request.raw)
                request.future.set_result(results[offset : offset + count])
                offset += count
        finally:
            with self._lock:
                self._pending -= len(batch)
        if self._on_batch is not None:
            self._on_batch(size, len(batch), time.perf_counter() - started)
