"""Deployments' per-minute history in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from athanor.store import DeploymentMinute, open_store

pytestmark = pytest.mark.usefixtures("backend")

START = 29_000_000  # a minute since the epoch (2025)


def minute(deployment: str, offset: int, requests: int = 3, **extra) -> DeploymentMinute:
    return DeploymentMinute(
        deployment=deployment,
        minute=START + offset,
        requests=requests,
        client_errors=1,
        p50_ms=2.5,
        p95_ms=9.0,
        p99_ms=12.0,
        latency_bins={-120: requests - 1, -95: 1},
        **extra,
    )


def test_minutes_are_written_read_by_range_merged_pruned_and_go_with_the_deployment() -> None:
    store = open_store()
    store.deployments.create("web", "m", {})
    store.deployments.create("api", "m", {})
    sketch = {"features": ["a"], "samples": 2, "count": [2], "sum": [0.5], "sum_squares": [1.0]}
    written = store.deployment_history.write(
        [minute("web", offset) for offset in range(10)]
        + [minute("api", 0, inputs=sketch), minute("gone", 0)]
    )
    assert written == 11  # the minute of a deployment that does not exist is dropped

    shown = store.deployment_history.read("web", START + 2, START + 4)
    assert [m.minute - START for m in shown] == [2, 3, 4]
    assert (shown[0].requests, shown[0].client_errors, shown[0].p99_ms) == (3, 1, 12.0)
    assert shown[0].latency_bins == {-120: 2, -95: 1}
    assert store.deployment_history.read("api", START, START)[0].inputs == sketch

    def add(stored: DeploymentMinute, new: DeploymentMinute) -> DeploymentMinute:
        new.requests += stored.requests
        return new

    store.deployment_history.write([minute("web", 4, requests=5)], add)
    assert store.deployment_history.read("web", START + 4, START + 4)[0].requests == 8

    assert store.deployment_history.prune(START + 5) == 6  # web's 0-4 and api's 0
    assert [m.minute - START for m in store.deployment_history.read("web", 0, START + 99)] == [
        5, 6, 7, 8, 9,
    ]  # fmt: skip
    store.deployments.delete("web")
    assert store.deployment_history.read("web", 0, START + 99) == []
    store.deployments.create("web", "m", {})  # a new deployment of the name starts afresh
    assert store.deployment_history.read("web", 0, START + 99) == []
