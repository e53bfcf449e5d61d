"""The models a server answers for, the registry watch that swaps versions, and readiness."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from athanor.errors import NotFound, UserError
from athanor.serve.metrics import ServingMetrics
from athanor.serve.served_model import ServedModel
from athanor.settings import Settings
from athanor.spec.serving import ServingSpec
from athanor.store import Store, open_store


class ModelServer:
    """Served models by name, plus the task that follows aliases.

    Models are loaded when the server is made, so a wrong reference fails before anything
    listens. :meth:`start` and :meth:`stop` run the alias watch and drain the batchers; an app
    that mounts this server's app calls them from its own lifespan.

    Raises:
        UserError: no reference, two references to one name, or any reference that does not
            resolve to an intact package.
    """

    def __init__(
        self,
        refs: Sequence[str],
        *,
        config: ServingSpec | None = None,
        settings: Settings | None = None,
        store: Store | None = None,
    ) -> None:
        if not refs:
            raise UserError("name at least one model to serve (NAME, NAME@VERSION, NAME@ALIAS)")
        self.config = config or ServingSpec()
        self.threads = _set_inference_threads(self.config.threads)
        self.metrics = ServingMetrics()
        self.store = store or open_store(settings)
        self.models: dict[str, ServedModel] = {}
        try:
            for ref in refs:
                model = ServedModel(
                    ref, self.store, self.config, self.metrics, threads=self.threads
                )
                if model.name in self.models:
                    raise UserError(
                        f"'{ref}': {model.name} is already served as "
                        f"'{self.models[model.name].ref}'; serve one version per name"
                    )
                self.models[model.name] = model
        except BaseException:
            self._close_models()
            raise
        self.ready = False
        self._watch: asyncio.Task[None] | None = None

    def get(self, name: str) -> ServedModel:
        """The served model called ``name``.

        Raises:
            NotFound: naming the models served.
        """
        model = self.models.get(name)
        if model is None:
            raise NotFound(f"model '{name}' is not served here; served: {', '.join(self.models)}")
        return model

    def describe(self) -> list[dict[str, Any]]:
        return [model.describe() for model in self.models.values()]

    async def start(self) -> None:
        """Start following aliases; the server is ready from now on."""
        if any(model.follows for model in self.models.values()) and self._watch is None:
            self._watch = asyncio.create_task(self._follow(), name="athanor-alias-watch")
        self.ready = True

    async def stop(self) -> None:
        """Stop following aliases and answer every queued request."""
        self.ready = False
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None
        await asyncio.to_thread(self._close_models)

    @asynccontextmanager
    async def lifespan(self, _app: Any) -> AsyncIterator[None]:
        """A FastAPI/Starlette lifespan running :meth:`start` and :meth:`stop`."""
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    async def refresh(self, name: str) -> bool:
        """Look ``name``'s reference up now and swap if it changed (see ServedModel.refresh)."""
        return await asyncio.to_thread(self.get(name).refresh)

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(self.config.alias_poll_s)
            for model in list(self.models.values()):
                if model.follows:
                    await asyncio.to_thread(model.try_refresh)

    def _close_models(self) -> None:
        for model in self.models.values():
            model.close()


def _set_inference_threads(threads: int | None) -> int:
    """Give PyTorch ``threads`` intra-op threads (default: all cores but one).

    The batcher's forward passes and the event loop that parses requests share the cores;
    letting PyTorch take all of them makes its threads and the loop preempt each other.
    """
    import os

    import torch

    if threads is None:
        threads = max(1, (os.cpu_count() or 1) - 1)
    torch.set_num_threads(threads)
    return threads
