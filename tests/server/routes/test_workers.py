"""``POST /v1/workers`` on an embedded platform: a worker on another machine cannot share an
SQLite file and a local folder, and the refusal says what team mode needs. (Joining a platform
in team mode is tested end to end in tests/cli/test_worker.py.)"""

from __future__ import annotations

from tests.server.routes.conftest import Api


def test_an_embedded_platform_refuses_workers_and_says_what_team_mode_needs(api: Api) -> None:
    response = api.call("POST", "/v1/workers", json={"name": "box-2", "gpus": 1, "cpus": 8})
    assert response.status_code == 409, response.text
    assert response.json()["detail"] == (
        "workers on other machines need team mode, and this platform keeps its store on its "
        "own disk: start it with a PostgreSQL database (ATHANOR_DB_URL) and an S3-compatible "
        "bucket (ATHANOR_ARTIFACTS_URL=s3://bucket/prefix) (see docs/team.md)"
    )
    assert not [e for e in api.call("GET", "/v1/audit").json() if e["action"] == "join"]


def test_a_worker_name_is_checked(api: Api) -> None:
    response = api.call("POST", "/v1/workers", json={"name": "../box"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "name"]
