"""Deployments: registered models the platform serves, each with its own dynamic batcher.

A deployment is a :class:`~athanor.serve.model_server.ModelServer` living in the platform's
process, answering ``POST /v1/deployments/{name}/predict`` behind the platform's tokens and
limits. Deployments are recorded in the store: those ``running`` when the platform stops are
served again when it starts, and one that cannot be (its model was deleted) is marked
``failed`` with the reason.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from athanor.errors import NotFound, UserError
from athanor.server.deployment_monitor import DeploymentMonitor
from athanor.server.deployment_traffic import DeploymentTraffic
from athanor.store import DeploymentRecord, Store

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
DEFAULT_MAX_BODY = 16 << 20


class DeploymentManager:
    """Starts, stops and finds the model servers of a platform's deployments."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.servers: dict[str, Any] = {}  # name -> ModelServer (imported when first used)
        self.traffic = DeploymentTraffic()
        self.monitor = DeploymentMonitor(store, self.traffic)
        self._lock = asyncio.Lock()

    async def restore(self) -> None:
        """Serve again every deployment recorded as running, and start keeping their
        history in the store."""
        self.monitor.start()
        for record in self.store.deployments.list(status="running"):
            try:
                await self._start(record)
            except UserError as exc:
                self.store.deployments.set_status(record.name, "failed", str(exc))

    async def create(
        self, name: str, model: str, config: dict[str, Any], *, created_by: str = ""
    ) -> DeploymentRecord:
        """Serve ``model`` (``NAME``, ``NAME@VERSION`` or ``NAME@ALIAS``) as ``name``.

        The model is loaded and checked before the deployment is kept: a reference that does
        not resolve leaves nothing behind.

        Raises:
            UserError: an invalid name or serving setting; NotFound: no such model;
            Conflict: a deployment of this name exists.
        """
        from athanor.spec.loading import validate_settings
        from athanor.spec.serving import ServingSpec

        if not re.match(NAME_PATTERN, name):
            raise UserError(
                f"deployment name {name!r}: use letters, digits, '_', '.', '-' (at most 100)",
                code="name_invalid",
                params={"name": name},
                field="name",
            )
        spec = validate_settings(ServingSpec, config, "config")
        async with self._lock:
            record = self.store.deployments.create(
                name, model, spec.model_dump(mode="json"), created_by=created_by
            )
            try:
                return await self._start(record)
            except BaseException as error:
                self.store.deployments.delete(name)
                if isinstance(error, UserError) and error.code == "model_not_found":
                    error.field = error.field or "model"  # the request key it concerns
                raise

    async def _start(self, record: DeploymentRecord) -> DeploymentRecord:
        from athanor.serve.model_server import ModelServer
        from athanor.spec.serving import ServingSpec

        config = ServingSpec.model_validate(record.config)
        server = await asyncio.to_thread(
            ModelServer, [record.model], config=config, store=self.store
        )
        await server.start()
        for served in server.models.values():
            served.input_observers.append(self.monitor.observer(record.name))
        self.servers[record.name] = server
        refs = ", ".join(model.active.record.ref for model in server.models.values())
        return self.store.deployments.set_status(record.name, "running", f"serving {refs}")

    def server(self, name: str) -> Any:
        """The model server of a running deployment.

        Raises:
            NotFound: no such deployment here.
        """
        server = self.servers.get(name)
        if server is None:
            record = self.store.deployments.get(name)  # NotFound when unknown
            raise NotFound(
                f"deployment {name!r} is not serving ({record.status}): {record.status_reason}"
            )
        return server

    def max_body_bytes(self, name: str) -> int:
        """The largest prediction request deployment ``name`` accepts."""
        server = self.servers.get(name)
        return server.config.max_body_bytes if server is not None else DEFAULT_MAX_BODY

    async def stop(self, name: str, reason: str) -> DeploymentRecord:
        """Stop serving ``name`` (queued requests are answered first) and keep it, ``stopped``,
        to be started again or deleted.

        Raises:
            NotFound: no such deployment.
        """
        async with self._lock:
            await self._stop_serving(name)
            return self.store.deployments.set_status(name, "stopped", reason)

    async def start(self, name: str) -> DeploymentRecord:
        """Serve a stopped or failed deployment again (a running one is returned as it is).

        Raises:
            NotFound: no such deployment, or its model is gone.
        """
        async with self._lock:
            record = self.store.deployments.get(name)
            if name in self.servers:
                return record
            try:
                return await self._start(record)
            except UserError as exc:
                self.store.deployments.set_status(name, "failed", str(exc))
                raise

    async def delete(self, name: str) -> None:
        """Stop serving ``name`` (queued requests are answered first) and forget it.

        Raises:
            NotFound: no such deployment.
        """
        async with self._lock:
            await self._stop_serving(name)
            self.store.deployments.delete(name)
            self.monitor.forget(name)

    async def _stop_serving(self, name: str) -> None:
        """Stop ``name``'s model server, if it has one (NotFound: no such deployment)."""
        self.store.deployments.get(name)
        server = self.servers.pop(name, None)
        if server is not None:
            await server.stop()

    async def close(self) -> None:
        """Stop every model server (the deployments stay recorded, to be served again) and
        write the minutes still in memory."""
        async with self._lock:
            servers, self.servers = self.servers, {}
            for server in servers.values():
                await server.stop()
            await self.monitor.stop()

    def view(self, record: DeploymentRecord) -> dict[str, Any]:
        """A deployment as the API shows it, with what its server serves now."""
        server = self.servers.get(record.name)
        return {
            **record.to_json(),
            "serving": server.describe() if server is not None else [],
            "predict_path": f"/v1/deployments/{record.name}/predict",
        }
