"""``POST /v1/specs/estimate``: a spec's time, memory and cost before it is submitted."""

from __future__ import annotations

from tests.server.routes.conftest import Api

SPEC_YAML = """\
name: routes-estimate
data: {dataset: iris}
model: {template: mlp, hidden: [4]}
train: {epochs: 2, batch_size: 16}
"""


def test_estimate_measures_here_and_prices_catalog_gpus(api: Api) -> None:
    response = api.call(
        "POST", "/v1/specs/estimate", json={"spec": SPEC_YAML, "devices": ["cpu", "t4"]}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["spec"] == "routes-estimate" and body["epochs"] == 2
    here, t4 = body["devices"]
    assert here["method"] == "measured" and here["fits"]
    assert t4["device"] == "t4" and t4["costs"] and t4["dominant_layers"]
    assert t4["total_seconds"]["low"] <= t4["total_seconds"]["high"]


def test_estimate_names_an_unknown_device(api: Api) -> None:
    response = api.call(
        "POST", "/v1/specs/estimate", json={"spec": SPEC_YAML, "devices": ["tpu-v9"]}
    )
    assert response.status_code == 400
    assert "device tpu-v9: not in the device catalog" in response.json()["detail"]


def test_a_job_submitted_with_its_estimate_keeps_it_for_the_queue(api: Api) -> None:
    response = api.call("POST", "/v1/jobs", json={"spec": SPEC_YAML, "estimated_seconds": 720.0})
    assert response.status_code == 201, response.text
    job = response.json()
    try:
        assert job["summary"]["estimate"] == {"total_seconds": 720.0}
    finally:
        api.client.post(f"/v1/jobs/{job['id']}/cancel")
