"""Dynamic batching: queued requests share a forward pass; closing answers every request."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from athanor.serve.batcher import BatcherClosed, DynamicBatcher


class Recorder:
    """A model that doubles its input, records batch sizes, and can be held at a gate."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        self.entered.set()
        self.gate.wait(10)
        self.sizes.append(len(raw))
        return raw * 2


def test_requests_queued_while_the_model_runs_share_the_next_batch() -> None:
    model = Recorder()
    batcher = DynamicBatcher(model, max_batch_size=8, max_wait_ms=0)
    model.gate.clear()
    first = batcher.submit(np.array([[0.0]]))
    assert model.entered.wait(5)
    # Twenty requests of one sample arrive while the first batch runs.
    futures = [batcher.submit(np.array([[float(i)]])) for i in range(1, 21)]
    model.gate.set()
    assert first.result(5).tolist() == [[0.0]]
    assert [f.result(5)[0, 0] for f in futures] == [2.0 * i for i in range(1, 21)]
    assert model.sizes == [1, 8, 8, 4]  # batches never exceed max_batch_size
    batcher.close()


def test_a_lone_request_waits_at_most_max_wait_and_multi_sample_requests_stay_whole() -> None:
    model = Recorder()
    batcher = DynamicBatcher(model, max_batch_size=4, max_wait_ms=30)
    results = [batcher.submit(np.ones((3, 2))), batcher.submit(np.ones((3, 2)))]
    assert [r.result(5).shape for r in results] == [(3, 2), (3, 2)]
    assert model.sizes == [3, 3]  # 3 + 3 > 4: the second request starts the next batch
    big = batcher.submit(np.ones((9, 2)))  # larger than a batch: runs alone, whole
    assert big.result(5).shape == (9, 2) and model.sizes[-1] == 9
    batcher.close()


def test_close_answers_queued_requests_then_refuses_new_ones() -> None:
    model = Recorder()
    batcher = DynamicBatcher(model, max_batch_size=2, max_wait_ms=0)
    model.gate.clear()
    futures = [batcher.submit(np.array([[float(i)]])) for i in range(5)]
    assert model.entered.wait(5)
    closer = threading.Thread(target=batcher.close)
    closer.start()
    model.gate.set()
    closer.join(5)
    assert [f.result(0)[0, 0] for f in futures] == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert batcher.closed and batcher.pending == 0
    with pytest.raises(BatcherClosed):
        batcher.submit(np.array([[1.0]]))


def test_a_failing_batch_fails_each_of_its_requests_and_the_batcher_goes_on() -> None:
    calls = []

    def flaky(raw: np.ndarray) -> np.ndarray:
        calls.append(len(raw))
        if len(calls) == 1:
            raise RuntimeError("out of memory")
        return raw

    batcher = DynamicBatcher(flaky, max_batch_size=4, max_wait_ms=0)
    with pytest.raises(RuntimeError, match="out of memory"):
        batcher.submit(np.zeros((1, 1))).result(5)
    assert batcher.submit(np.ones((1, 1))).result(5).tolist() == [[1.0]]
    batcher.close()


def test_awaiting_results_from_an_event_loop() -> None:
    batcher = DynamicBatcher(lambda raw: raw + 1, max_batch_size=64, max_wait_ms=5)

    async def many() -> list[float]:
        results = await asyncio.gather(*(batcher.predict(np.array([[i]])) for i in range(50)))
        return [float(r[0, 0]) for r in results]

    assert asyncio.run(many()) == [float(i + 1) for i in range(50)]
    batcher.close()
