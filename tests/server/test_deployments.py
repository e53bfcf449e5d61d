"""The platform's deployments: a model that cannot be served again is marked failed."""

from __future__ import annotations

import anyio
import pytest

from athanor.errors import NotFound, UserError
from athanor.server.deployments import DeploymentManager
from athanor.store import open_store


def test_a_deployment_whose_model_is_gone_is_marked_failed_on_restore() -> None:
    store = open_store()
    store.deployments.create("ghost", "ghost-model", {})
    manager = DeploymentManager(store)
    anyio.run(manager.restore)
    record = store.deployments.get("ghost")
    assert record.status == "failed" and "ghost-model" in record.status_reason
    with pytest.raises(NotFound, match="deployment 'ghost' is not serving \\(failed\\)"):
        manager.server("ghost")
    assert manager.view(record)["serving"] == []


def test_creating_checks_the_name_settings_and_model_and_keeps_nothing_that_failed() -> None:
    store = open_store()
    manager = DeploymentManager(store)
    with pytest.raises(UserError, match="deployment name 'a b'"):
        anyio.run(manager.create, "a b", "m", {})
    with pytest.raises(UserError, match="config: max_batch_size: must be greater"):
        anyio.run(manager.create, "web", "m", {"max_batch_size": 0})
    with pytest.raises(NotFound, match="no model named 'nothing'"):
        anyio.run(manager.create, "web", "nothing", {})
    assert store.deployments.list() == []
