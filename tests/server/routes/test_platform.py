"""``/v1/health``, ``/v1/platform`` and ``/v1/platform/stats``."""

from __future__ import annotations

from athanor import __version__
from tests.server.routes.conftest import Api


def test_health_answers_ok_with_the_version(api: Api) -> None:
    response = api.call("GET", "/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__}


def test_platform_shows_the_machine_its_use_and_the_scheduler(api: Api) -> None:
    response = api.call("GET", "/v1/platform")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["version"] == __version__
    assert body["machine"] == {"host": "routes-test", "gpus": [], "cpus": 2, "memory_gb": None}
    assert set(body["usage"]) == {
        "gpus_in_use",
        "cpus_in_use",
        "memory_gb_reserved",
        "jobs_queued",
        "jobs_placed",
    }
    assert body["usage"]["jobs_placed"] == 0 and body["usage"]["gpus_in_use"] == []
    assert body["scheduler"] == {"running": False, "passes": 0, "last_error": None, "executor": ""}


def test_stats_show_the_machines_use_and_the_stores_disk_space(api: Api) -> None:
    response = api.call("GET", "/v1/platform/stats")
    assert response.status_code == 200, response.text
    stats = response.json()
    assert stats["cpu_count"] >= 1 and 0 <= stats["memory_percent"] <= 100
    storage = stats["storage"]
    assert storage["home"] == str(api.settings.home)
    assert storage["used_bytes"] > 0 and storage["disk_free_bytes"] > 0
    assert {"database", "runs", "models"} <= set(storage["parts"])


def test_a_missing_path_is_404_and_a_wrong_method_405_naming_the_allowed_ones(api: Api) -> None:
    missing = api.call("GET", "/v1/platforms")
    assert missing.status_code == 404 and missing.json()["detail"] == "Not Found"
    wrong = api.call("POST", "/v1/health", json={})
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET"
