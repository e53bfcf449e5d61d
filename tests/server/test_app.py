"""The REST API of a real platform: datasets to models through uploads and jobs, tokens
for clients beyond the machine, bounded bodies, and 4xx answers with a message."""

from __future__ import annotations

import csv
import http.client
import io
import json
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from athanor.errors import Conflict, NotFound, UserError
from tests.server.conftest import PlatformProcess, wait_for

REMOTE = {"X-Forwarded-For": "203.0.113.7"}  # uvicorn trusts this from a proxy on 127.0.0.1


def csv_rows(data: bytes, count: int) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(data.decode()))
    return [row for _, row in zip(range(count), reader, strict=False)]


def call(
    platform: PlatformProcess,
    method: str,
    path: str,
    body: bytes | Iterator[bytes] | None = None,
    headers: dict[str, str] | None = None,
    *,
    auth: bool = True,
) -> tuple[int, dict[str, str], Any]:
    """One raw HTTP request, with the owner's token unless ``auth`` is False or the headers
    carry their own; returns (status, headers, decoded JSON or text)."""
    address = urllib.parse.urlsplit(platform.url)
    headers = dict(headers or {})
    if auth and "Authorization" not in headers:
        headers["Authorization"] = f"Bearer {platform.owner_token}"
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    try:
        chunked = body is not None and not isinstance(body, bytes)
        connection.request(method, path, body=body, headers=headers, encode_chunked=chunked)
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    kind = response.getheader("content-type", "")
    decoded = json.loads(data) if data and "json" in kind else data.decode()
    return response.status, dict(response.getheaders()), decoded


def test_upload_import_train_and_register_through_the_api(
    shared_platform: PlatformProcess, mirror: Path
) -> None:
    client = shared_platform.client()
    status, _, upload = call(shared_platform, "POST", "/v1/uploads")
    assert status == 201 and upload["files"] == []
    csv = (mirror / "boston-housing" / "BostonHousing.csv").read_bytes()
    base = f"/v1/uploads/{upload['id']}"
    status, _, written = call(shared_platform, "PUT", f"{base}/files/tables/boston.csv", csv)
    assert status == 200 and written == {"path": "tables/boston.csv", "size": len(csv)}
    for escape in ("%2E%2E/evil.csv", "tables/%2E%2E/%2E%2E/evil.csv", "%2Fetc%2Fx.csv"):
        status, _, refused = call(shared_platform, "PUT", f"{base}/files/{escape}", b"a\n")
        assert status in (400, 422), (escape, refused)
    assert not (shared_platform.home / "uploads" / "evil.csv").exists()
    status, _, listed = call(shared_platform, "GET", base)
    assert listed["files"] == [{"path": "tables/boston.csv", "size": len(csv)}]

    body = json.dumps(
        {"upload": upload["id"], "path": "tables/boston.csv", "name": "boston", "target": "medv"}
    ).encode()
    headers = {"Content-Type": "application/json"}
    status, _, imported = call(shared_platform, "POST", "/v1/datasets", body, headers)
    assert status == 201, imported
    assert (imported["name"], imported["rows"], imported["task"]) == ("boston", 506, "regression")
    status, _, datasets = call(shared_platform, "GET", "/v1/datasets")
    assert [d["name"] for d in datasets].count("boston") == 1  # the platform is shared: others too
    status, _, preview = call(shared_platform, "GET", "/v1/datasets/boston/preview?rows=3")
    assert status == 200 and len(preview["rows"]) == 3 and "medv" in preview["rows"][0]
    assert call(shared_platform, "DELETE", base)[0] == 204
    assert call(shared_platform, "GET", base)[0] == 404

    spec = {
        "name": "boston-mlp",
        "data": {"dataset": "boston", "split": {"val": 0.2, "test": 0.2}},
        "model": {"template": "mlp", "hidden": [16]},
        "train": {"epochs": 3, "batch_size": 32},
        "register_as": "boston-mlp",
    }
    job = client.call("submit_job", body={"spec": spec, "overrides": ["train.epochs=4"]})
    assert job["status"] == "queued" and job["submitted_by"] == "owner"
    events = list(client.follow_log(job["id"]))
    kinds = {event.kind for event in events}
    assert {"log", "state", "end"} <= kinds
    assert events[-1].kind == "end" and events[-1].json()["status"] == "succeeded"
    lines = [event.data for event in events if event.kind == "log"]
    assert any(line.startswith("epoch 4/4") for line in lines)
    done = client.call("get_job", job_id=job["id"])
    assert done["status"] == "succeeded" and done["summary"]["registered_as"] == "boston-mlp@1"
    metrics = client.call("get_run_metrics", run_id=job["id"], params={"names": "val_loss"})
    assert [p["epoch"] for p in metrics["val_loss"]] == [1, 2, 3, 4]
    late = client.call(
        "get_run_metrics", run_id=job["id"], params={"after_step": metrics["val_loss"][1]["step"]}
    )
    assert [p["epoch"] for p in late["val_loss"]] == [3, 4]
    status, _, model = call(shared_platform, "GET", "/v1/models/boston-mlp@1")
    assert status == 200 and model["lineage"]["run_id"] == job["id"]
    assert call(shared_platform, "GET", "/v1/models")[2][0]["name"] == "boston-mlp"
    status, _, run = call(shared_platform, "GET", f"/v1/runs/{job['id']}")
    assert run["job"] is True and run["spec"]["train"]["epochs"] == 4
    with pytest.raises(Conflict, match=f"job {job['id']} already succeeded"):
        client.call("cancel_job", job_id=job["id"])

    # Serve the model from the platform and predict with it.
    created = shared_platform.cli("deployments", "create", "boston", "boston-mlp", "--json")
    deployment = json.loads(created.stdout)
    assert deployment["status"] == "running" and deployment["status_reason"] == (
        "serving boston-mlp@1"
    )
    rows = [dict(row) for row in csv_rows(csv, 3)]
    targets = [float(row.pop("medv")) for row in rows]
    body = json.dumps({"inputs": rows}).encode()
    status, _, answer = call(
        shared_platform, "POST", "/v1/deployments/boston/predict", body, headers
    )
    assert status == 200, answer
    assert answer["model"] == "boston-mlp@1" and len(answer["predictions"]) == len(targets)
    assert all(len(p["values"]) == 1 for p in answer["predictions"])
    bad = json.dumps({"inputs": [{"crim": "a lot"}]}).encode()
    status, _, answer = call(
        shared_platform, "POST", "/v1/deployments/boston/predict", bad, headers
    )
    assert status == 422 and "crim" in answer["detail"]
    with pytest.raises(Conflict, match="a deployment named 'boston' exists"):
        client.call("create_deployment", body={"name": "boston", "model": "boston-mlp"})
    with pytest.raises(NotFound, match="nothing"):
        client.call("create_deployment", body={"name": "other", "model": "nothing"})
    client.call("create_deployment", body={"name": "other", "model": "boston-mlp@1"})
    listed = client.call("list_deployments")
    assert [(d["name"], d["serving"][0]["ref"]) for d in listed] == [
        ("boston", "boston-mlp@1"),
        ("other", "boston-mlp@1"),
    ]
    assert (
        "deployment other stopped" in shared_platform.cli("deployments", "delete", "other").stdout
    )
    assert call(shared_platform, "POST", "/v1/deployments/other/predict", body, headers)[0] == 404


def test_every_client_needs_a_credential_loopback_included(
    shared_platform: PlatformProcess,
) -> None:
    status, headers, refused = call(shared_platform, "GET", "/v1/jobs", auth=False)
    assert status == 401 and headers["www-authenticate"] == "Bearer"
    assert "a credential is required" in refused["detail"]
    assert call(shared_platform, "GET", "/v1/jobs", headers=REMOTE, auth=False)[0] == 401
    assert call(shared_platform, "GET", "/v1/health", headers=REMOTE, auth=False)[0] == 200
    created = json.loads(shared_platform.cli("token", "create", "laptop", "--json").stdout)
    bearer = {**REMOTE, "Authorization": f"Bearer {created['token']}"}
    assert call(shared_platform, "GET", "/v1/jobs", headers=bearer)[0] == 200
    forged = {"Authorization": "Bearer ath_forged"}
    status, _, answer = call(shared_platform, "GET", "/v1/jobs", headers=forged)
    assert status == 401 and "invalid or revoked" in answer["detail"]  # even from loopback
    assert "token laptop revoked" in shared_platform.cli("token", "revoke", "laptop").stdout
    assert call(shared_platform, "GET", "/v1/jobs", headers=bearer)[0] == 401
    listed = json.loads(shared_platform.cli("token", "list", "--json").stdout)
    assert ("laptop", False) in [(t["name"], t["active"]) for t in listed]
    assert ("owner", True) in [(t["name"], t["active"]) for t in listed]
    assert created["token"] not in shared_platform.cli("token", "list").stdout


def test_request_bodies_are_bounded(shared_platform: PlatformProcess) -> None:
    big = json.dumps({"spec": "x" * (2 << 20)}).encode()
    headers = {"Content-Type": "application/json"}
    status, _, answer = call(shared_platform, "POST", "/v1/jobs", big, headers)
    assert status == 413 and "limit of 1,048,576 bytes" in answer["detail"]

    def pieces() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"spec": "'
        for _ in range(40):
            yield b"y" * 65536
        yield b'"}'

    status, _, answer = call(shared_platform, "POST", "/v1/jobs", pieces(), headers)
    assert status == 413
    status, _, upload = call(shared_platform, "POST", "/v1/uploads")
    path = f"/v1/uploads/{upload['id']}/files/big.bin"
    status, _, answer = call(shared_platform, "PUT", path, b"z" * (3 << 19))
    assert status == 413 and "limit of 1,048,576 bytes" in answer["detail"]
    # The limit holds for the whole upload, file after file.
    assert call(shared_platform, "PUT", path, b"z" * (700 << 10))[0] == 200
    status, _, answer = call(shared_platform, "PUT", path + "2", b"z" * (700 << 10))
    assert status == 413 and "would hold more than 1,048,576 bytes" in answer["detail"]
    files = call(shared_platform, "GET", f"/v1/uploads/{upload['id']}")[2]["files"]
    assert files == [{"path": "big.bin", "size": 700 << 10}]


def test_mistakes_get_4xx_answers_that_say_what_is_wrong(
    shared_platform: PlatformProcess,
) -> None:
    client = shared_platform.client()
    with pytest.raises(NotFound, match="job 999 does not exist"):
        client.call("get_job", job_id=999)
    yaml_text = "data: digits\nmodel:\n  template: mlp\n  hiden: [3]\n"
    with pytest.raises(UserError, match=r"^my.yaml:4: model.hiden: unknown key"):
        client.submit_job(yaml_text, filename="my.yaml")
    with pytest.raises(NotFound, match="unknown dataset 'digitz' \\(did you mean 'digits'\\?\\)"):
        client.call("submit_job", body={"spec": {"data": "digitz", "model": {"template": "mlp"}}})
    with pytest.raises(UserError, match="job.resources.gpus: 1 asked for"):
        client.submit_job("data: digits\nmodel: {template: mlp}\njob: {resources: {gpus: 1}}\n")
    status, headers, answer = call(shared_platform, "DELETE", "/v1/jobs")
    assert status == 405 and headers["allow"] == "GET, POST"
    status, _, answer = call(shared_platform, "GET", "/v1/jobs/x")
    assert status == 422 and answer["detail"][0]["loc"] == ["path", "job_id"]
    status, _, answer = call(shared_platform, "GET", "/v1/models/bad%20name")
    assert status == 422 and answer["detail"][0]["loc"] == ["path", "ref"]
    wait_for(lambda: client.call("platform")["scheduler"]["running"], 10, "the scheduler")


def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    shared_platform: PlatformProcess, tmp_path: Path
) -> None:
    """Every operation of the OpenAPI schema, fuzzed from the schema (bounded: a fixed
    seed and number of examples), with all of schemathesis's checks."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(Path(__file__).with_name("schemathesis.toml")),
            "run",
            f"{shared_platform.url}/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            "10",
            "--seed",
            "20261122",
            "--workers",
            "1",
            "--request-timeout",
            "30",
            "--no-shrink",
            "--report-dir",
            str(tmp_path),
            "--header",
            f"Authorization: Bearer {shared_platform.owner_token}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**shared_platform.env, "SCHEMATHESIS_HOOKS": ""},
        cwd=tmp_path,
    )
    summary = result.stdout[-6000:]
    assert result.returncode == 0, summary
    schema = call(shared_platform, "GET", "/openapi.json")[2]
    operations = sum(len(methods) for methods in schema["paths"].values())
    assert f"Tested: {operations}\n" in summary and "failures" not in summary


def test_an_uploaded_folder_of_text_per_class_imports_as_labeled_text(
    shared_platform: PlatformProcess,
) -> None:
    status, _, upload = call(shared_platform, "POST", "/v1/uploads")
    base = f"/v1/uploads/{upload['id']}"
    documents = {
        "reviews/good/1.txt": "a fine film",
        "reviews/good/2.txt": "well acted",
        "reviews/bad/1.txt": "a dull film",
        "reviews/bad/2.txt": "badly written",
    }
    for path, text in documents.items():
        assert call(shared_platform, "PUT", f"{base}/files/{path}", text.encode())[0] == 200
    headers = {"Content-Type": "application/json"}
    body = {"upload": upload["id"], "path": "reviews", "name": "api-reviews"}
    status, _, imported = call(
        shared_platform, "POST", "/v1/datasets", json.dumps(body).encode(), headers
    )
    assert status == 201, imported
    assert (imported["kind"], imported["task"], imported["rows"]) == (
        "text_classes",
        "classification",
        4,
    )
    status, _, preview = call(shared_platform, "GET", "/v1/datasets/api-reviews/preview?rows=2")
    assert status == 200 and preview["text"].count("[") == 2, preview
    call(shared_platform, "PUT", f"{base}/files/single/only/1.txt", b"alone")
    body = {"upload": upload["id"], "path": "single", "name": "api-single"}
    status, _, refused = call(
        shared_platform, "POST", "/v1/datasets", json.dumps(body).encode(), headers
    )
    assert status == 400 and "only 1 class (only) has documents" in refused["detail"], refused
    assert call(shared_platform, "DELETE", base)[0] == 204


def test_paths_of_the_platforms_machine_import_only_inside_its_import_roots(
    platform_factory, tmp_path: Path
) -> None:
    root = tmp_path / "imports"
    root.mkdir()
    table = root / "houses.csv"
    table.write_text(
        "rooms,area,price\n" + "".join(f"{i % 5},{50 + i},{100 + 3 * i}\n" for i in range(40))
    )
    outside = tmp_path / "elsewhere.csv"
    outside.write_text(table.read_text())
    (root / "escape.csv").symlink_to(outside)
    platform = platform_factory("--cpus", "1", "--gpus", "none", "--import-root", str(root))
    platform.start()
    json_body = {"Content-Type": "application/json"}

    def post(body: dict[str, Any], headers: dict[str, str] | None = None):
        return call(
            platform,
            "POST",
            "/v1/datasets/imports/path",
            json.dumps(body).encode(),
            {**json_body, **(headers or {})},
        )

    status, _, imported = post({"path": str(table), "name": "houses", "target": "price"})
    assert status == 201, imported
    assert imported["name"] == "houses" and imported["rows"] == 40
    assert platform.store().datasets.versions("houses")[0].rows == 40
    status, _, refused = post({"path": str(outside), "name": "other"})
    assert status == 400 and "outside the folders this platform imports from" in refused["detail"]
    status, _, refused = post({"path": str(root / "escape.csv"), "name": "other"})
    assert status == 400 and "outside the folders" in refused["detail"]  # links are followed
    status, _, refused = post({"path": "houses.csv", "name": "other"})
    assert status == 400 and "give an absolute path" in refused["detail"]
    status, _, refused = post({"path": str(root / "missing.csv"), "name": "other"})
    assert status == 404 and "no such file or folder" in refused["detail"]
    status, _, refused = post({"path": str(table), "name": "other"}, REMOTE)
    assert status == 403  # a remote client names no path of this machine, token or not
    (root / ".secrets").mkdir()
    (root / ".secrets" / "keys.csv").write_text(table.read_text())
    status, _, refused = post({"path": str(root / ".secrets" / "keys.csv"), "name": "other"})
    assert status == 400 and "hidden" in refused["detail"]
    assert [d.name for d in platform.store().datasets.list()] == ["houses"]
