"""The CLI's client: every operation it calls is in the API's OpenAPI schema."""

from __future__ import annotations

import pytest

from athanor.jobs.machine import detect_machine
from athanor.server.app import create_app
from athanor.server.client import OPERATIONS, PlatformClient, PlatformUnavailable
from athanor.server.context import PlatformContext
from athanor.store import open_store


def test_client_operations_are_operations_of_the_schema() -> None:
    app = create_app(PlatformContext(store=open_store(), machine=detect_machine("none")))
    schema = app.openapi()
    for name, (method, path) in OPERATIONS.items():
        assert method.lower() in schema["paths"].get(path, {}), name
    assert schema["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    jobs = schema["paths"]["/v1/jobs"]["post"]
    assert jobs["security"] == [{"token": []}]  # every client sends a credential
    assert {"201", "400", "401", "404", "413", "422"} <= set(jobs["responses"])


def test_without_a_platform_the_client_says_how_to_start_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ATHANOR_URL", raising=False)
    with pytest.raises(PlatformUnavailable, match="no platform is running on .*'athanor up'"):
        PlatformClient()
    client = PlatformClient("http://127.0.0.1:9", timeout=5)  # the discard port: refused
    with pytest.raises(PlatformUnavailable, match="does not answer"):
        client.call("health")
