"""``/v1/jobs``: submitting, listing, showing, cancelling, resuming and reading logs.

The test platform has no scheduler, so a submitted job stays queued until it is cancelled.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from athanor.errors import Conflict, DatasetNotFound, NotFound, SpecError
from tests.server.routes.conftest import Api

SPEC = {
    "name": "routes-job",
    "data": {"dataset": "iris"},
    "model": {"template": "mlp", "hidden": [4]},
    "train": {"epochs": 1},
}
JOB_FIELDS = {
    "id",
    "name",
    "status",
    "reason",
    "dataset",
    "created_at",
    "started_at",
    "finished_at",
    "duration_seconds",
    "priority",
    "resources",
    "max_restarts",
    "restarts",
    "attempt",
    "queue_position",
    "wait_reason",
    "devices",
    "worker",
    "progress",
    "stop_requested",
    "submitted_by",
    "attempts",
    "archived_at",
    "summary",
}


@pytest.fixture
def queued(api: Api) -> Iterator[dict]:
    """A job submitted now (queued); cancelled afterwards."""
    response = api.call("POST", "/v1/jobs", json={"spec": SPEC, "overrides": ["seed=3"]})
    assert response.status_code == 201, response.text
    job = response.json()
    yield job
    api.client.post(f"/v1/jobs/{job['id']}/cancel")


def test_a_submitted_job_is_queued_with_its_position_and_who_sent_it(
    api: Api, queued: dict
) -> None:
    assert set(queued) == JOB_FIELDS
    assert (queued["name"], queued["status"], queued["dataset"]) == ("routes-job", "queued", "iris")
    assert queued["queue_position"] >= 1 and queued["submitted_by"] == "owner"
    assert queued["resources"]["cpus"] >= 1 and queued["worker"] is None
    shown = api.call("GET", f"/v1/jobs/{queued['id']}")
    assert shown.status_code == 200 and shown.json()["id"] == queued["id"]
    listed = api.call("GET", "/v1/jobs", params={"status": "queued"}).json()
    assert queued["id"] in [job["id"] for job in listed]
    run = api.call("GET", f"/v1/runs/{queued['id']}").json()
    assert run["job"] is True and run["spec"]["seed"] == 3


def test_a_queued_job_has_an_empty_log_that_is_not_complete(api: Api, queued: dict) -> None:
    response = api.call("GET", f"/v1/jobs/{queued['id']}/logs")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "offset": 0,
        "next_offset": 0,
        "size": 0,
        "text": "",
        "complete": False,
    }


def test_cancelling_ends_a_queued_job_and_a_second_cancel_is_a_409_conflict(
    api: Api, queued: dict
) -> None:
    path = f"/v1/jobs/{queued['id']}/cancel"
    cancelled = api.call("POST", path)
    assert cancelled.status_code == 202, cancelled.text
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["queue_position"] is None
    again = api.call("POST", path)
    assert again.status_code == Conflict.http_status == 409
    assert f"job {queued['id']} already cancelled" in again.json()["detail"]
    stream = api.call("GET", f"/v1/jobs/{queued['id']}/logs/stream")
    assert stream.status_code == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert "event: state" in stream.text and stream.text.rstrip().split("\n")[-2] == "event: end"


def test_resuming_a_cancelled_job_queues_it_again(api: Api, queued: dict) -> None:
    api.call("POST", f"/v1/jobs/{queued['id']}/cancel")
    resumed = api.call("POST", f"/v1/jobs/{queued['id']}/resume")
    assert resumed.status_code == 202, resumed.text
    assert resumed.json()["status"] == "queued"
    assert "it continues from the start (it has no checkpoint)" in resumed.json()["reason"]
    queued_again = api.call("POST", f"/v1/jobs/{queued['id']}/resume")
    assert queued_again.status_code == Conflict.http_status


def test_a_missing_job_is_404(api: Api) -> None:
    for method, path in [
        ("GET", "/v1/jobs/987654"),
        ("POST", "/v1/jobs/987654/cancel"),
        ("POST", "/v1/jobs/987654/resume"),
        ("GET", "/v1/jobs/987654/logs"),
        ("GET", "/v1/jobs/987654/logs/stream"),
    ]:
        response = api.call(method, path)
        assert response.status_code == NotFound.http_status == 404, (path, response.text)
        assert "job 987654 does not exist" in response.json()["detail"]


def test_a_spec_mistake_is_400_naming_its_line_and_key(api: Api) -> None:
    text = "data: iris\nmodel:\n  template: mlp\n  hiden: [3]\n"
    response = api.call("POST", "/v1/jobs", json={"spec": text, "filename": "my.yaml"})
    assert response.status_code == SpecError.http_status == 400
    assert response.json()["detail"].startswith("my.yaml:4: model.hiden: unknown key")
    gpus = {**SPEC, "job": {"resources": {"gpus": 1}}}
    response = api.call("POST", "/v1/jobs", json={"spec": gpus})
    assert response.status_code == 400 and "job.resources.gpus: 1 asked for" in response.text


def test_an_unknown_dataset_is_404_with_a_suggestion(api: Api) -> None:
    spec = {**SPEC, "data": {"dataset": "irsi"}}
    response = api.call("POST", "/v1/jobs", json={"spec": spec})
    assert response.status_code == DatasetNotFound.http_status == 404
    assert "unknown dataset 'irsi' (did you mean 'iris'?)" in response.json()["detail"]


def test_a_body_that_does_not_match_the_schema_is_422_naming_the_key(api: Api) -> None:
    for body, loc in [
        ({}, ["body", "spec"]),
        ({"spec": SPEC, "priority": 3}, ["body", "priority"]),
        ({"spec": SPEC, "overrides": ["no-equals"]}, ["body", "overrides", 0]),
    ]:
        response = api.call("POST", "/v1/jobs", json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["detail"][0]["loc"] == loc
    assert api.call("GET", "/v1/jobs", params={"status": "sleeping"}).status_code == 422
