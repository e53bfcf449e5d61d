"""Monitored deployments on a real platform: the history outlives a restart, inputs shifted
by a known amount drift, and a bad window is a 422 naming its parameter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
import pytest

import athanor as at
from athanor.registry.registry import package_path, resolve
from athanor.serve.predictor import Predictor
from tests.server.conftest import PlatformProcess

IRIS = {
    "name": "iris-watch",
    "seed": 0,
    "data": {"dataset": "iris", "split": {"val": 0.2}},
    "model": {"template": "mlp", "hidden": [8]},
    "train": {"epochs": 1, "batch_size": 16},
}
SHIFTED = "petal length (cm)"
SHIFT = 0.5  # training standard deviations


def rows_like_training(platform: PlatformProcess, count: int) -> list[dict[str, float]]:
    """``count`` rows whose columns have exactly the training split's mean and std (as the
    model package records them), except SHIFTED, moved by SHIFT of its std."""
    store = platform.store()
    predictor = Predictor.from_package(package_path(store, resolve(store, "iris-watch")))
    standardize = predictor.preprocessor.to_json()[1]
    features = predictor.schema.input.features
    assert standardize["type"] == "standardize" and features is not None
    noise = np.random.default_rng(0).normal(size=(count, len(features)))
    noise = (noise - noise.mean(axis=0)) / noise.std(axis=0)
    values = noise * np.array(standardize["std"]) + np.array(standardize["mean"])
    column = features.index(SHIFTED)
    values[:, column] += SHIFT * standardize["std"][column]
    return [dict(zip(features, map(float, row), strict=True)) for row in values]


def test_history_survives_a_restart_and_a_shifted_feature_drifts(platform_factory) -> None:
    platform: PlatformProcess = platform_factory(
        "--cpus", "1", "--gpus", "none", "--warm-workers", "0"
    )
    platform.home.mkdir(parents=True, exist_ok=True)
    at.train(IRIS, register_as="iris-watch", progress=False, settings=platform.settings)
    rows = rows_like_training(platform, 200)
    url = platform.start()
    owner = {"Authorization": f"Bearer {platform.owner_token}"}
    with httpx.Client(base_url=url, timeout=30, headers=owner) as api:
        created = api.post("/v1/deployments", json={"name": "watch", "model": "iris-watch"})
        assert created.status_code == 201, created.text
        for start in range(0, len(rows), 50):
            answered = api.post(
                "/v1/deployments/watch/predict", json={"inputs": rows[start : start + 50]}
            )
            assert answered.status_code == 200, answered.text
        assert api.post("/v1/deployments/watch/predict", json={"inputs": []}).status_code == 422
        live = api.get("/v1/deployments/watch/metrics?minutes=10").json()
        assert (live["totals"]["requests"], live["totals"]["client_errors"]) == (5, 1)

    assert platform.stop() == 0  # the minutes still in memory are written as it stops
    stored = platform.store().deployment_history.read("watch", 0, 2**40)
    assert sum(minute.requests for minute in stored) == 5
    url = platform.start()
    with httpx.Client(base_url=url, timeout=30, headers=owner) as api:
        shown = api.get("/v1/deployments/watch/metrics?minutes=60").json()
        assert shown["totals"]["requests"] == 5 and shown["totals"]["errors"] == 1
        assert 0 < shown["totals"]["p50_ms"] <= shown["totals"]["p99_ms"]
        week = api.get("/v1/deployments/watch/metrics?minutes=10080").json()
        assert week["step_minutes"] == 30 and len(week["points"]) == 336
        assert week["totals"]["requests"] == 5

        drift = api.get("/v1/deployments/watch/drift?minutes=60").json()
        assert drift["available"] and drift["samples"] == 200
        assert drift["thresholds"] == {"watch": 0.1, "drifted": 0.25}
        worst, *others = drift["features"]
        assert (worst["feature"], worst["state"]) == (SHIFTED, "drifted")
        assert abs(worst["score"] - SHIFT) < 0.01
        assert [feature["state"] for feature in others] == ["stable"] * 3
        assert all(feature["score"] < 0.01 for feature in others)
        assert len(drift["series"]) == 60  # every minute, the quiet ones without scores
        served = [point for point in drift["series"] if point["samples"]]
        assert sum(point["samples"] for point in served) == 200
        assert SHIFTED in drift["feature_order"]
        assert all(
            point["scores"] == [None] * 4 for point in drift["series"] if not point["samples"]
        )

        since = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
        assert api.get("/v1/deployments/watch/metrics", params={"since": since}).status_code == 200
        future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        for query, parameter in (
            ({"minutes": 0}, "minutes"),
            ({"minutes": 31 * 24 * 60}, "minutes"),
            ({"since": future}, "since"),
            ({"since": "2020-01-01T00:00:00Z"}, "since"),
            ({"since": "yesterday"}, "since"),
            ({"since": since, "minutes": 5}, "since"),
        ):
            for route in ("metrics", "drift"):
                refused = api.get(f"/v1/deployments/watch/{route}", params=query)
                assert refused.status_code == 422, (query, refused.text)
                assert parameter in refused.text, refused.text

        assert api.delete("/v1/deployments/watch").status_code == 204
    assert platform.store().deployment_history.read("watch", 0, 2**40) == []


def test_minutes_are_written_once_closed_pruned_after_the_retention_and_kept_in_bounds(
    monkeypatch,
) -> None:
    import anyio

    from athanor.errors import UserError
    from athanor.server.deployment_monitor import DeploymentMonitor, history_days
    from athanor.server.deployment_traffic import DeploymentTraffic
    from athanor.store import open_store

    monkeypatch.setenv("ATHANOR_DEPLOYMENT_HISTORY_DAYS", "2")
    clock = [1_800_000_000.0]  # a minute boundary
    store = open_store()
    store.deployments.create("kept", "m", {})
    monitor = DeploymentMonitor(store, DeploymentTraffic(clock=lambda: clock[0]))
    assert monitor.retention_minutes == 2 * 24 * 60
    monitor.traffic.record("kept", 200, 0.004)
    assert anyio.run(monitor.flush) == 0  # the minute is still open
    clock[0] += 60
    monitor.traffic.record("kept", 500, 0.008)
    assert anyio.run(monitor.flush) == 1  # the closed one, in one write
    assert anyio.run(monitor.flush) == 0  # never twice
    now = int(clock[0] // 60)
    shown = anyio.run(monitor.history, "kept", now - 1, now)  # the stored minute, the live one
    assert [p["requests"] for p in shown["points"]] == [1, 1]
    assert shown["totals"]["server_errors"] == 1

    clock[0] += 2 * 24 * 3600  # two days on: the first minute is past the retention
    assert anyio.run(monitor.prune) == 1
    assert store.deployment_history.read("kept", 0, now) == []

    for value in ("0", "3651", "a week"):
        monkeypatch.setenv("ATHANOR_DEPLOYMENT_HISTORY_DAYS", value)
        with pytest.raises(UserError, match="ATHANOR_DEPLOYMENT_HISTORY_DAYS"):
            history_days()
