"""``/v1/runs``: listing, pages, one run, its metrics and thinned series."""

from __future__ import annotations

from athanor.errors import NotFound
from athanor.store import RunStatus, open_store
from tests.server.routes.conftest import Api

RUN_FIELDS = {
    "id",
    "name",
    "status",
    "status_reason",
    "dataset",
    "created_at",
    "started_at",
    "finished_at",
    "heartbeat_at",
    "duration_s",
    "host",
    "pid",
    "summary",
    "job",
    "archived_at",
}


def test_runs_are_listed_newest_first_and_paged_with_a_total(api: Api) -> None:
    response = api.call("GET", "/v1/runs", params={"status": "succeeded", "name": "iris-mlp"})
    assert response.status_code == 200, response.text
    run = next(r for r in response.json() if r["id"] == api.run_id)
    assert set(run) == RUN_FIELDS
    assert (run["status"], run["dataset"], run["job"]) == ("succeeded", "iris", False)
    page = api.call("GET", "/v1/runs/page", params={"search": "iris", "limit": 1}).json()
    assert page["limit"] == 1 and page["offset"] == 0 and page["total"] >= 1
    assert len(page["items"]) == 1 and set(page["items"][0]) == RUN_FIELDS


def test_a_run_shows_its_spec_summary_and_artifact_folder(api: Api) -> None:
    response = api.call("GET", f"/v1/runs/{api.run_id}")
    assert response.status_code == 200, response.text
    run = response.json()
    assert set(run) == RUN_FIELDS | {"spec", "spec_yaml", "artifacts"}
    assert run["spec_yaml"].startswith("name: iris-mlp\n")
    assert run["spec"]["train"]["epochs"] == 1 and run["spec"]["data"]["dataset"] == "iris"
    assert run["summary"]["registered_as"] == "iris-mlp@1"
    assert run["artifacts"].endswith(f"runs/{api.run_id}")


def test_metrics_come_by_name_in_step_order_and_series_thinned_as_columns(api: Api) -> None:
    response = api.call("GET", f"/v1/runs/{api.run_id}/metrics", params={"names": "val_loss"})
    assert response.status_code == 200, response.text
    (point,) = response.json()["val_loss"]
    assert point["epoch"] == 1 and isinstance(point["value"], float)
    assert (
        api.call("GET", f"/v1/runs/{api.run_id}/metrics?after_step={point['step']}").json()[
            "val_loss"
        ]
        == []
    )
    series = api.call("GET", f"/v1/runs/{api.run_id}/series", params={"points": 4}).json()
    loss = series["val_loss"]
    assert loss["name"] == "val_loss" and loss["total"] == 1
    assert loss["steps"] == [point["step"]] and loss["values"] == [point["value"]]
    assert loss["times"] == [round(point["recorded_at"], 3)]


def test_a_missing_run_is_404_naming_it(api: Api) -> None:
    for path in ("/v1/runs/987654", "/v1/runs/987654/metrics", "/v1/runs/987654/series"):
        response = api.call("GET", path)
        assert response.status_code == NotFound.http_status == 404, path
        assert response.json()["detail"] == "run 987654 does not exist (see 'athanor runs list')"
        assert response.json()["code"] == "not_found"


def test_malformed_ids_and_queries_are_422_naming_the_parameter(api: Api) -> None:
    response = api.call("GET", "/v1/runs/first")
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == [
        "path",
        "run_id",
    ]
    response = api.call("GET", "/v1/runs", params={"limit": 0})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == [
        "query",
        "limit",
    ]
    response = api.call("GET", f"/v1/runs/{api.run_id}/series", params={"points": 1})
    assert response.status_code == 422


def test_a_run_serves_its_evaluation_report_and_404s_the_images_a_table_has_not(
    api: Api,
) -> None:
    response = api.call("GET", f"/v1/runs/{api.run_id}/evaluation")
    assert response.status_code == 200, response.text
    evaluation = response.json()
    assert evaluation["task"] == "classification" and len(evaluation["classes"]) == 3
    matrix = evaluation["confusion_matrix"]
    assert sum(map(sum, matrix)) == evaluation["samples"] == 30
    assert [row["support"] for row in evaluation["per_class"]] == [sum(r) for r in matrix]
    assert set(evaluation["per_class"][0]) == {"class", "precision", "recall", "f1", "support"}
    wrong = evaluation["wrong_examples"]
    assert all(w["image"] is None and w["row"] for w in wrong)  # iris is a table
    response = api.call("GET", f"/v1/runs/{api.run_id}/evaluation/examples/0.png")
    assert response.status_code == 404
    assert response.json()["detail"] == f"run {api.run_id} has no image for wrong example 0"
    report = api.call("GET", f"/v1/runs/{api.run_id}/report")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert "Confusion matrix" in report.text and "<svg" in report.text


def test_a_run_without_an_evaluation_is_404_saying_why(api: Api) -> None:
    from athanor.store import open_store

    runs = open_store(api.settings).runs
    record = runs.create({"name": "old"}, name="old", dataset="iris")  # as before evaluations
    try:
        for path in ("evaluation", "evaluation/examples/0.png"):
            response = api.call("GET", f"/v1/runs/{record.id}/{path}")
            assert response.status_code == 404, path
            assert response.json()["detail"].startswith(f"run {record.id} has no evaluation: ")
        assert "no stored evaluation" in api.call("GET", f"/v1/runs/{record.id}/report").text
    finally:
        runs.delete(record.id)  # the other route tests share this store
    response = api.call("GET", "/v1/runs/987654/evaluation")
    assert response.json()["detail"] == "run 987654 does not exist (see 'athanor runs list')"
    assert response.json()["code"] == "not_found"


def test_a_detectors_evaluation_gives_map_and_the_ap_of_each_class(trained_detector) -> None:
    from athanor.jobs.machine import Machine
    from athanor.server.app import create_app
    from athanor.server.context import PlatformContext
    from athanor.server.credentials import ensure_owner_token
    from athanor.store import open_store
    from tests.serve.conftest import running

    run, settings = trained_detector
    machine = Machine(host="routes-test", gpus=(), cpus=2, memory_gb=None)
    context = PlatformContext(store=open_store(settings), machine=machine)
    owner = ensure_owner_token(settings, context.store.tokens)
    with running(create_app(context)) as client:
        client.headers["Authorization"] = f"Bearer {owner}"
        response = client.get(f"/v1/runs/{run.id}/evaluation")
    assert response.status_code == 200, response.text
    evaluation = response.json()
    assert evaluation["task"] == "detection" and evaluation["samples"] == 16
    assert all(0 <= evaluation[k] <= 1 for k in ("map", "map50", "map75"))
    assert evaluation["per_class"] is None  # precision and recall are a classifier's
    rows = evaluation["class_ap"]
    assert [row["class"] for row in rows] == [str(d) for d in range(10)]
    assert set(rows[0]) == {"class", "ap", "ap50", "boxes"}
    assert sum(row["boxes"] for row in rows) == evaluation["boxes"] > 0


def _final_run(api: Api, name: str, status: RunStatus = RunStatus.FAILED) -> int:
    """A run stored as queued and then ended with ``status`` (no training needed)."""
    store = open_store(api.settings)
    run = store.runs.create({"name": name}, name=name, status=RunStatus.QUEUED)
    if status.final:
        store.runs.finish(run.id, status, "ended for the test")
    return run.id


def test_a_final_run_is_archived_hidden_restored_and_purged(api: Api) -> None:
    run_id = _final_run(api, "routes-trash")
    assert api.call("DELETE", f"/v1/runs/{run_id}").status_code == 204
    listed = [r["id"] for r in api.call("GET", "/v1/runs", params={"limit": 500}).json()]
    assert run_id not in listed
    page = api.call("GET", "/v1/runs/page", params={"archived": True, "search": "routes-trash"})
    assert [r["id"] for r in page.json()["items"]] == [run_id]
    assert page.json()["items"][0]["archived_at"] is not None
    assert api.call("GET", f"/v1/runs/{run_id}").json()["archived_at"] is not None

    restored = api.call("POST", f"/v1/runs/{run_id}/restore")
    assert restored.status_code == 200 and restored.json()["archived_at"] is None
    assert run_id in [r["id"] for r in api.call("GET", "/v1/runs", params={"limit": 500}).json()]

    refused = api.call("DELETE", f"/v1/runs/{run_id}", params={"purge": True})
    assert refused.status_code == 409 and "not archived" in refused.json()["detail"]
    folder = open_store(api.settings).artifacts.run_dir(run_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "log.txt").write_text("x")
    assert api.call("DELETE", f"/v1/runs/{run_id}").status_code == 204
    assert api.call("DELETE", f"/v1/runs/{run_id}", params={"purge": True}).status_code == 204
    assert not folder.exists()
    assert api.call("GET", f"/v1/runs/{run_id}").status_code == NotFound.http_status
    trail = api.call("GET", "/v1/audit").json()
    actions = {(e["action"], e["object_id"]) for e in trail}
    assert {("delete", str(run_id)), ("restore", str(run_id))} <= actions


def test_a_queued_run_is_not_deleted_but_named_to_cancel_first(api: Api) -> None:
    run_id = _final_run(api, "routes-busy", RunStatus.QUEUED)
    try:
        refused = api.call("DELETE", f"/v1/runs/{run_id}")
        assert refused.status_code == 409, refused.text
        assert refused.json()["detail"].startswith(f"run {run_id} is queued: cancel it first")
        assert api.call("GET", f"/v1/runs/{run_id}").json()["archived_at"] is None
    finally:
        open_store(api.settings).runs.finish(run_id, RunStatus.CANCELLED, "test over")
    assert api.call("DELETE", "/v1/runs/987654").status_code == NotFound.http_status


def test_a_runs_dependents_name_the_versions_it_registered(api: Api) -> None:
    found = api.call("GET", f"/v1/runs/{api.run_id}/dependents")
    assert found.status_code == 200, found.text
    assert "iris-mlp@1" in found.json()["model_versions"]
    assert found.json()["archived"] is False and found.json()["status"] == "succeeded"


def test_an_archived_job_is_not_resumed_until_restored(api: Api) -> None:
    spec = {
        "name": "routes-archived-job",
        "data": {"dataset": "iris"},
        "model": {"template": "mlp"},
    }
    submitted = api.call("POST", "/v1/jobs", json={"spec": spec})
    assert submitted.status_code == 201, submitted.text
    job = submitted.json()["id"]
    assert api.call("POST", f"/v1/jobs/{job}/cancel").status_code == 202
    assert api.call("DELETE", f"/v1/runs/{job}").status_code == 204
    assert job not in [j["id"] for j in api.call("GET", "/v1/jobs").json()]
    assert job in [j["id"] for j in api.call("GET", "/v1/jobs", params={"archived": True}).json()]
    refused = api.call("POST", f"/v1/jobs/{job}/resume")
    assert refused.status_code == 409 and "is archived: restore it first" in refused.text
    assert api.call("POST", f"/v1/runs/{job}/restore").status_code == 200
    assert api.call("POST", f"/v1/jobs/{job}/resume").status_code == 202
    api.call("POST", f"/v1/jobs/{job}/cancel")
