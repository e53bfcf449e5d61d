"""One platform API for the route tests: the real app over a store of its own, served by
uvicorn on loopback in this process, with a 1-epoch iris model registered as ``iris-mlp``.

It has no scheduler: submitted jobs stay queued, which is what the job routes' tests need.
Every answer the tests read is checked against the OpenAPI schema: its status must be one
the operation declares.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from athanor.settings import Settings
from tests.serve.conftest import running

MAX_UPLOAD_BYTES = 64 * 1024


@dataclass
class Api:
    """A client of the running platform that checks each answer's status against the schema."""

    client: httpx.Client
    settings: Settings
    run_id: int
    schema: dict[str, Any]

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; fails when its status is not declared for the operation."""
        response = self.client.request(method, path, **kwargs)
        operation = self.operation(method, path)
        if operation is not None:
            declared = set(operation["responses"])
            assert str(response.status_code) in declared, (
                f"{method} {path} answered {response.status_code} ({response.text[:300]}); "
                f"its OpenAPI operation declares {sorted(declared)}"
            )
        return response

    def operation(self, method: str, path: str) -> dict[str, Any] | None:
        """The schema's operation serving ``method path`` (a fixed path before a template)."""
        path = path.split("?", 1)[0]
        candidates = []
        for template, operations in self.schema["paths"].items():
            pattern = re.sub(r"\{[^}]+\}", "[^/]+", template)
            if template.endswith("/files/{path}"):
                pattern = pattern[: -len("[^/]+")] + ".+"
            if re.fullmatch(pattern, path) and method.lower() in operations:
                candidates.append((template.count("{"), operations[method.lower()]))
        return min(candidates, key=lambda c: c[0])[1] if candidates else None


def train_iris(settings: Settings) -> int:
    """Train a 1-epoch MLP on iris into ``settings``' store as ``iris-mlp``; its run's id."""
    import athanor as at

    spec = {
        "name": "iris-mlp",
        "seed": 0,
        "data": {"dataset": "iris", "split": {"val": 0.2, "test": 0.2}},
        "model": {"template": "mlp", "hidden": [8]},
        "train": {"epochs": 1, "batch_size": 16},
    }
    return at.train(spec, register_as="iris-mlp", progress=False, settings=settings).id


@pytest.fixture(scope="session")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The platform's API (see the module's docstring)."""
    from athanor.jobs.machine import Machine
    from athanor.server.app import create_app
    from athanor.server.context import PlatformContext
    from athanor.store import open_store

    home = tmp_path_factory.mktemp("routes") / "home"
    settings = Settings(home=home, db_url=f"sqlite:///{home / 'athanor.db'}", data_mirrors=())
    run_id = train_iris(settings)
    context = PlatformContext(
        store=open_store(settings),
        machine=Machine(host="routes-test", gpus=(), cpus=2, memory_gb=None),
        max_upload_bytes=MAX_UPLOAD_BYTES,
    )
    from athanor.server.credentials import ensure_owner_token

    owner = ensure_owner_token(settings, context.store.tokens)
    with running(create_app(context)) as client:
        client.headers["Authorization"] = f"Bearer {owner}"  # the CLI's credential
        schema = client.get("/openapi.json").json()
        yield Api(client=client, settings=settings, run_id=run_id, schema=schema)
