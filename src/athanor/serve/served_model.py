"""One model being served: its current version, batcher, and swapping to a new version.

A model served by alias (``NAME@production``) or as its newest version (``NAME``) follows the
registry: :meth:`ServedModel.refresh` loads the version it now resolves to, points new
requests at it, and only then closes the old batcher, which answers every request it already
holds. No request is dropped by a swap.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from athanor.errors import UserError
from athanor.registry.registry import package_path, parse_ref, resolve
from athanor.registry.signature import signature
from athanor.serve.batcher import BatcherClosed, DynamicBatcher
from athanor.serve.example_input import example_input
from athanor.serve.generation import Generated, GenerateRequest, generate
from athanor.serve.metrics import ServingMetrics
from athanor.serve.predictor import Predictor
from athanor.serve.runtimes import select_runtime
from athanor.spec.serving import ServingSpec
from athanor.store import ModelVersionRecord, Store

log = logging.getLogger("athanor.serve")


class Arrival:
    """A request being read: the batcher waits for it while it has not been queued.

    It also counts the request in the model's metrics when it ends, the same way for every
    route that predicts (native and Open Inference Protocol).
    """

    def __init__(self, model: ServedModel) -> None:
        self._model = model
        self._pending = True
        self._started = time.perf_counter()
        model.arriving += 1

    def queued(self) -> None:
        """The request is queued, answered or refused (idempotent)."""
        if self._pending:
            self._pending = False
            self._model.arriving -= 1

    def failed(self, kind: str) -> None:
        """Count an error of ``kind`` (a refusal's class name, or ``internal``)."""
        self._model.metrics.errors.labels(self._model.name, kind).inc()

    def ended(self, status: int) -> None:
        """Count the answer's status and the request's latency (once, when it is answered)."""
        self.queued()
        model = self._model
        if status == 200:
            model.observed.ok.inc()
        else:
            model.metrics.requests.labels(model.name, str(status)).inc()
        model.observed.latency.observe(time.perf_counter() - self._started)


@dataclass
class Observed:
    """Per-model metric children, resolved once rather than on every request."""

    ok: Any
    latency: Any
    samples: Any


@dataclass
class ActiveVersion:
    """The version answering requests now."""

    record: ModelVersionRecord
    predictor: Predictor
    batcher: DynamicBatcher
    runtime: str


class ServedModel:
    """A registered model behind a dynamic batcher, following its alias when it has one.

    Args:
        ref: ``NAME``, ``NAME@VERSION`` or ``NAME@ALIAS``.
        store: the store the model is registered in.
        config: batching limits and the device.
        metrics: where batch sizes and swaps are counted.
        threads: intra-op threads of the runtime.

    Raises:
        NotFound: no such model, version or alias.
        PackageIntegrityError: the package was altered.
    """

    def __init__(
        self,
        ref: str,
        store: Store,
        config: ServingSpec,
        metrics: ServingMetrics,
        *,
        threads: int = 1,
    ) -> None:
        self.ref = ref
        self.name, selector = parse_ref(ref)
        self.follows = not isinstance(selector, int)
        self._store = store
        self._config = config
        self.metrics = metrics
        self._threads = threads
        self._refresh_lock = threading.Lock()
        self._device = _device(config.device)
        self.arriving = 0
        self.observed = Observed(
            ok=metrics.requests.labels(self.name, "200"),
            latency=metrics.latency.labels(self.name),
            samples=metrics.samples.labels(self.name),
        )
        self.active = self._load(resolve(store, ref))
        self.last_error: str | None = None
        self.input_observers: list[Callable[[Predictor, np.ndarray], None]] = []
        """Called with each accepted request's raw batch once it is queued (e.g. the
        platform's input drift sketches), on the event loop while the batch is scored."""

    def arrival(self) -> Arrival:
        """Count a request as on its way to the batcher until it is queued."""
        return Arrival(self)

    def _load(self, record: ModelVersionRecord) -> ActiveVersion:
        predictor = Predictor.from_package(
            package_path(self._store, record),
            expected_hash=record.content_hash,
            device=self._device,
            ref=record.ref,
        )
        batch_size = self.metrics.batch_size.labels(self.name)
        batch_seconds = self.metrics.batch_seconds.labels(self.name)

        def observe(samples: int, _requests: int, seconds: float) -> None:
            batch_size.observe(samples)
            batch_seconds.observe(seconds)

        scorer, runtime = select_runtime(predictor, self._config.runtime, self._threads)
        batcher = DynamicBatcher(
            scorer,
            max_batch_size=self._config.max_batch_size,
            max_wait_ms=self._config.max_wait_ms,
            on_batch=observe,
            expect_more=lambda: self.arriving > 0,
            name=f"batcher-{record.ref}",
        )
        self.metrics.version.labels(self.name).set(record.version)
        return ActiveVersion(record, predictor, batcher, runtime)

    async def predict(
        self,
        parse: Callable[[Predictor], np.ndarray],
        *,
        in_thread: bool = False,
        arrival: Arrival | None = None,
    ) -> tuple[ActiveVersion, np.ndarray]:
        """Parse a request with the current version's predictor and await its results.

        Args:
            parse: turns the request into a raw batch for the given predictor.
            in_thread: parse in a worker thread (large bodies), keeping the event loop free.
            arrival: the request's arrival, marked queued once it is in the batcher.

        Returns:
            The version that answered and its scores, one row per sample.
        """
        while True:
            active = self.active
            if in_thread:
                raw = await asyncio.to_thread(parse, active.predictor)
            else:
                raw = parse(active.predictor)
            try:
                waiter = active.batcher.submit_async(raw)
            except BatcherClosed:
                continue  # swapped while parsing: parse again for the new version's schema
            if arrival is not None:
                arrival.queued()
            for observe in self.input_observers:
                observe(active.predictor, raw)
            return active, await waiter

    async def generate(self, request: GenerateRequest) -> Generated:
        """Text or images from the current version (in a worker thread: sampling a long
        text takes many forward steps, which would stall the event loop)."""
        predictor = self.active.predictor
        result = await asyncio.to_thread(generate, predictor, request)
        self.observed.ok.inc()
        return result

    def refresh(self) -> bool:
        """Load the version the reference resolves to now, if it changed (blocking).

        Returns:
            True when another version was swapped in.

        Raises:
            UserError: the reference no longer resolves or the new package is refused; the
                current version keeps serving.
        """
        if not self.follows:
            return False
        with self._refresh_lock:  # the watch and a reload request may ask at once
            record = resolve(self._store, self.ref)
            current = self.active.record
            if (record.version, record.content_hash) == (current.version, current.content_hash):
                return False
            new = self._load(record)
            old, self.active = self.active, new
            old.batcher.close(wait=True)  # answers what it holds, then stops
        self.metrics.swaps.labels(self.name).inc()
        log.info("%s now serves %s (was %s)", self.ref, record.ref, current.ref)
        return True

    def try_refresh(self) -> bool:
        """:meth:`refresh`, logging a failure instead of raising it."""
        try:
            swapped = self.refresh()
        except UserError as exc:
            if str(exc) != self.last_error:
                log.warning("%s: keeping %s: %s", self.ref, self.active.record.ref, exc)
            self.last_error = str(exc)
            return False
        self.last_error = None
        return swapped

    def close(self) -> None:
        """Answer the queued requests and stop the batcher."""
        self.active.batcher.close(wait=True)

    def describe(self) -> dict[str, Any]:
        """What ``GET /v1/models`` says about this model."""
        active = self.active
        schema = active.predictor.schema
        return {
            "name": self.name,
            "served_as": self.ref,
            "version": active.record.version,
            "ref": active.record.ref,
            "follows": self.follows,
            "content_hash": active.record.content_hash,
            "task": schema.task,
            "input": schema.input.model_dump(mode="json", exclude_none=True),
            "classes": schema.classes,
            "example": example_input(active.predictor),
            "signature": signature(schema, getattr(active.predictor.network, "latent_dim", None)),
            "metrics": active.record.metrics,
            "device": str(active.predictor.device),
            "runtime": active.runtime,
            "batching": {
                "max_batch_size": self._config.max_batch_size,
                "max_wait_ms": self._config.max_wait_ms,
            },
            "pending": active.batcher.pending,
            "last_refresh_error": self.last_error,
        }


def _device(requested: str) -> Any:
    from athanor.training.devices import select_device

    try:
        return select_device(requested)
    except UserError as exc:
        raise UserError(str(exc).replace("train.device", "serving device")) from None
