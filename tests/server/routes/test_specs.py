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


CHECKED_YAML = """\
# a spec with mistakes
name: routes-check
data:
  dataset: iris
model: {template: mlp, hidden: [4]}
train:
  epochs: 0
  batch_size: 16
  colour: blue
"""


def test_check_names_each_problems_key_path_and_line(api: Api) -> None:
    response = api.call("POST", "/v1/specs/check", json={"spec": CHECKED_YAML})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["valid"] is False and body["spec"] is None
    (unknown,) = body["issues"]  # an unknown key is reported before the values are read
    assert (unknown["path"], unknown["line"]) == ("train.colour", 9)
    assert unknown["message"].startswith("unknown key; valid keys: accumulate,")
    assert body["problems"] == [f"spec.yaml:9: train.colour: {unknown['message']}"]

    fixed = CHECKED_YAML.replace("  colour: blue\n", "")
    (epochs,) = api.call("POST", "/v1/specs/check", json={"spec": fixed}).json()["issues"]
    assert (epochs["path"], epochs["line"]) == ("train.epochs", 7)
    assert epochs["message"] == "must be greater than or equal to 1 (got 0)"

    broken = api.call("POST", "/v1/specs/check", json={"spec": "name: x\ndata: [\n"}).json()
    assert broken["valid"] is False
    assert broken["issues"][0]["path"] is None and broken["issues"][0]["line"] == 3
    assert broken["issues"][0]["message"].startswith("invalid YAML")


def _data_problem(api: Api, dataset: str, extra: str = "", quick: bool = False) -> str | None:
    """Check a spec on ``dataset``: the problem reported at data.dataset, or None if valid."""
    spec = f"name: routes-load\ndata:\n  dataset: '{dataset}'\n{extra}model: {{template: mlp}}\n"
    response = api.call(
        "POST", "/v1/specs/check", json={"spec": spec}, params={"data": "false"} if quick else {}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    if body["valid"]:
        return None
    (issue,) = body["issues"]
    assert issue["path"] == "data.dataset" and issue["line"] is None, issue
    return issue["message"]


def test_check_loads_the_dataset_and_names_why_it_cannot(api: Api, tmp_path) -> None:
    import athanor as at
    from athanor.store import open_store

    table = tmp_path / "rooms.csv"
    table.write_text(
        "rooms,area,price\n" + "".join(f"{i % 4},{60 + i},{90 + i}\n" for i in range(24))
    )
    first = at.datasets.import_dataset(
        table, name="routes-load", target="price", settings=api.settings
    )
    table.write_text(table.read_text() + "3,99,999\n")
    at.datasets.import_dataset(table, name="routes-load", target="price", settings=api.settings)
    try:
        assert _data_problem(api, "routes-load") is None
        assert _data_problem(api, "iris") is None
        # a target column the table does not have
        said = _data_problem(api, "routes-load", "  target: cost\n")
        assert said == (
            "'routes-load' cannot be loaded: dataset 'routes-load': no target column 'cost'; "
            "columns: rooms, area, price"
        ), said
        assert _data_problem(api, "routes-load", "  target: cost\n", quick=True) is None
        # a deleted version, then a version whose files are gone
        assert api.call("DELETE", "/v1/datasets/routes-load/versions/1").status_code == 204
        said = _data_problem(api, "routes-load@1")
        assert said is not None and "routes-load" in said and "version" in said, said
        store = open_store(api.settings)
        latest = store.datasets.get("routes-load", None)
        import shutil

        shutil.rmtree(store.artifacts.resolve(latest.path))
        said = _data_problem(api, "routes-load")
        assert said is not None and "its files are missing" in said, said
        assert first.version.ref.startswith("routes-load@")
    finally:
        api.client.delete("/v1/datasets/routes-load/versions")
