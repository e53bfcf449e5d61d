"""Dynamic batching: requests that arrive together share one forward pass.

One worker thread owns the model. Requests queue up while it runs a batch; it then takes
everything queued (up to ``max_batch_size`` samples) and, if the batch is not full and more
requests are on their way (``expect_more``), waits at most ``max_wait_ms`` for them. Under
load, batches fill up by themselves; a lone request does not wait at all.

Threads get :class:`concurrent.futures.Future` results (:meth:`DynamicBatcher.submit`); event
loops await :meth:`DynamicBatcher.predict`, whose results are handed over with one wake-up of
the loop per batch rather than one per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import numpy as np

from athanor.serve.inputs import concatenate


class BatcherClosed(RuntimeError):
    """The batcher was closed (its model was swapped out); submit to the current one."""


@dataclass
class _Request:
    raw: np.ndarray
    future: Future[np.ndarray] | None = None
    loop: asyncio.AbstractEventLoop | None = None
    waiter: asyncio.Future[np.ndarray] | None = None


_STOP = object()
POLL_S = 0.0005


class DynamicBatcher:
    """Run ``run_batch`` on concatenated requests from a single worker thread.

    Args:
        run_batch: maps a raw batch ``[N, ...]`` to results ``[N, ...]`` (row i for sample i).
        max_batch_size: most samples per call (a single larger request runs alone).
        max_wait_ms: how long a batch that is not full waits for more requests.
        on_batch: called after each batch with (samples, requests, seconds), e.g. metrics.
        expect_more: whether more requests are about to be submitted (e.g. requests being
            read); without it, a batch that is not full always waits ``max_wait_ms``.
        name: the worker thread's name.
    """

    def __init__(
        self,
        run_batch: Callable[[np.ndarray], np.ndarray],
        *,
        max_batch_size: int = 64,
        max_wait_ms: float = 2.0,
        on_batch: Callable[[int, int, float], None] | None = None,
        expect_more: Callable[[], bool] | None = None,
        name: str = "batcher",
    ) -> None:
        self._run_batch = run_batch
        self._expect_more = expect_more or (lambda: True)
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
        request = _Request(raw, future=Future())
        self._enqueue(request)
        assert request.future is not None
        return request.future

    def submit_async(self, raw: np.ndarray) -> asyncio.Future[np.ndarray]:
        """Queue ``raw`` from the running event loop; await the returned future.

        Raises:
            BatcherClosed: :meth:`close` was called.
        """
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[np.ndarray] = loop.create_future()
        self._enqueue(_Request(raw, loop=loop, waiter=waiter))
        return waiter

    async def predict(self, raw: np.ndarray) -> np.ndarray:
        """Await the results for ``raw`` from an event loop."""
        return await self.submit_async(raw)

    def _enqueue(self, request: _Request) -> None:
        with self._lock:
            if self._closed:
                raise BatcherClosed("this batcher is closed")
            self._pending += 1
            self._queue.put(request)

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
                    item = self._queue.get_nowait()  # what is already queued joins at once
                except queue.Empty:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or not self._expect_more():
                        break
                    try:
                        # Short waits, so that the batch leaves as soon as nothing more is
                        # on its way rather than at the deadline.
                        item = self._queue.get(timeout=min(remaining, POLL_S))
                    except queue.Empty:
                        continue
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
        outcomes: list[tuple[_Request, np.ndarray | None, BaseException | None]]
        try:
            raw = batch[0].raw if len(batch) == 1 else concatenate([r.raw for r in batch])
            results = self._run_batch(raw)
        except BaseException as exc:  # handed to every waiting request
            outcomes = [(request, None, exc) for request in batch]
        else:
            outcomes = []
            offset = 0
            for request in batch:
                count = len(request.raw)
                outcomes.append((request, results[offset : offset + count], None))
                offset += count
        with self._lock:
            self._pending -= len(batch)
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Request, Any, Any]]] = {}
        for outcome in outcomes:
            request, result, error = outcome
            if request.loop is not None:
                by_loop.setdefault(request.loop, []).append(outcome)
            elif request.future is not None:
                if error is None:
                    request.future.set_result(result)  # type: ignore[arg-type]
                else:
                    request.future.set_exception(error)
        for loop, settled in by_loop.items():
            # A closed loop raises RuntimeError: nobody waits for these results any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, settled)
        if self._on_batch is not None:
            self._on_batch(size, len(batch), time.perf_counter() - started)


def _settle(outcomes: list[tuple[_Request, Any, Any]]) -> None:
    """Resolve the awaited futures of one batch (runs on their event loop)."""
    for request, result, error in outcomes:
        waiter = request.waiter
        if waiter is None or waiter.done():  # cancelled: the client went away
            continue
        if error is None:
            waiter.set_result(result)
        else:
            waiter.set_exception(error)
