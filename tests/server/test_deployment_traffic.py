"""Per-minute traffic of deployments: buckets, percentiles and the window kept."""

from __future__ import annotations

import pytest

from athanor.server.deployment_traffic import DeploymentTraffic


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0  # a minute boundary

    def __call__(self) -> float:
        return self.now


def test_requests_are_counted_by_minute_and_status_class_with_percentiles() -> None:
    clock = Clock()
    traffic = DeploymentTraffic(clock=clock)
    for milliseconds in range(1, 101):  # 1 ms .. 100 ms
        traffic.record("web", 200, milliseconds / 1000)
    traffic.record("web", 422, 0.001)
    traffic.record("web", 500, 0.001)
    clock.now += 120
    traffic.record("web", 200, 0.010)
    shown = traffic.series("web", 3)
    assert [point["requests"] for point in shown["points"]] == [102, 0, 1]
    first, quiet, last = shown["points"]
    assert (first["client_errors"], first["server_errors"], first["errors"]) == (1, 1, 2)
    assert first["p50_ms"] == pytest.approx(50, rel=0.05)
    assert first["p95_ms"] == pytest.approx(94, rel=0.05)
    assert quiet["p50_ms"] is None and last["p95_ms"] == pytest.approx(10, rel=0.03)
    assert shown["totals"]["requests"] == 103 and shown["minutes"] == 3
    assert first["minute"] == "2027-01-15T08:00:00Z"


def test_old_minutes_are_dropped_and_a_forgotten_deployment_has_nothing() -> None:
    clock = Clock()
    traffic = DeploymentTraffic(keep_minutes=10, clock=clock)
    for _ in range(30):
        traffic.record("web", 200, 0.002)
        clock.now += 60
    assert len(traffic._buckets["web"]) == 10
    assert traffic.series("web", 1000)["minutes"] == 10
    assert traffic.series("web", 10)["totals"]["requests"] == 9  # this minute has none yet
    traffic.forget("web")
    assert traffic.series("web", 5)["totals"]["requests"] == 0
