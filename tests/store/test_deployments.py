"""Deployments in a real SQLite store."""

from __future__ import annotations

import pytest

from athanor.errors import Conflict, NotFound
from athanor.store import open_store

pytestmark = pytest.mark.usefixtures("backend")


def test_deployments_are_created_once_updated_listed_and_deleted() -> None:
    deployments = open_store().deployments
    created = deployments.create(
        "web", "iris-mlp@production", {"max_batch_size": 8}, created_by="t"
    )
    assert (created.status, created.config, created.created_by) == (
        "running",
        {"max_batch_size": 8},
        "t",
    )
    with pytest.raises(Conflict, match="a deployment named 'web' exists"):
        deployments.create("web", "other", {})
    failed = deployments.set_status("web", "failed", "no model named 'iris-mlp'")
    assert (
        failed.status_reason == "no model named 'iris-mlp'"
        and failed.updated_at >= created.updated_at
    )
    deployments.create("api", "iris-mlp", {})
    assert [d.name for d in deployments.list()] == ["api", "web"]
    assert [d.name for d in deployments.list(status="running")] == ["api"]
    deployments.delete("web")
    with pytest.raises(NotFound, match="no deployment named 'web'"):
        deployments.get("web")
