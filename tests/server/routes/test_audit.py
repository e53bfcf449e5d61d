"""Every write through the API is in the audit trail with its user; ``/v1/audit`` shows an
admin everything and everyone else their own entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.label.conftest import write_mnist_pngs
from tests.server.routes.conftest import Api

TABLE = "a,b,y\n" + "".join(f"{i},{i % 3},{2 * i}\n" for i in range(12))
SPEC = {
    "name": "audit-job",
    "data": {"dataset": "iris"},
    "model": {"template": "mlp", "hidden": [4]},
    "train": {"epochs": 1},
}


@pytest.fixture(scope="module")
def editor(api: Api) -> dict[str, str]:
    added = api.call("POST", "/v1/users", json={"name": "audit-ed", "role": "editor"})
    assert added.status_code == 201, added.text
    return {"Authorization": f"Bearer {added.json()['token']}"}


def newest(api: Api, **params: str) -> dict:
    entries = api.call("GET", "/v1/audit", params={"limit": "1", **params}).json()
    return {k: entries[0][k] for k in ("user", "action", "object_kind", "object_id", "detail")}


def test_each_kind_of_write_is_audited_with_its_user(
    api: Api, editor: dict[str, str], tmp_path: Path
) -> None:
    def write(method: str, path: str, status: int, **kwargs) -> dict:
        response = api.call(method, path, headers=editor, **kwargs)
        assert response.status_code == status, response.text
        return response.json() if response.content else {}

    added = api.call("GET", "/v1/audit", params={"limit": "2"}).json()
    assert [
        (e["user"], e["action"], e["object_kind"], e["object_id"], e["detail"]) for e in added
    ] == [
        ("owner", "create", "token", "audit-ed", "for user audit-ed"),
        ("owner", "add", "user", "audit-ed", "role editor"),
    ]
    job = write("POST", "/v1/jobs", 201, json={"spec": SPEC})
    assert newest(api) == {
        "user": "audit-ed",
        "action": "submit",
        "object_kind": "job",
        "object_id": str(job["id"]),
        "detail": "audit-job",
    }
    write("POST", f"/v1/jobs/{job['id']}/cancel", 202)
    assert newest(api)["action"] == "cancel" and newest(api)["object_id"] == str(job["id"])

    upload = write("POST", "/v1/uploads", 201)["id"]
    write("PUT", f"/v1/uploads/{upload}/files/t.csv", 200, content=TABLE.encode())
    body = {"upload": upload, "path": "t.csv", "name": "audit-table", "target": "y"}
    version = write("POST", "/v1/datasets", 201, json=body)
    assert newest(api) == {
        "user": "audit-ed",
        "action": "import",
        "object_kind": "dataset version",
        "object_id": version["ref"],
        "detail": "tabular 12",
    }

    registered = write("POST", "/v1/models", 201, json={"name": "audit-iris", "run_id": api.run_id})
    assert newest(api) == {
        "user": "audit-ed",
        "action": "register",
        "object_kind": "model version",
        "object_id": registered["ref"],
        "detail": f"from run {api.run_id}",
    }
    write("PUT", "/v1/models/audit-iris/aliases/staging", 200, json={"version": 1})
    assert newest(api) == {
        "user": "audit-ed",
        "action": "set alias",
        "object_kind": "model alias",
        "object_id": "audit-iris@staging",
        "detail": f"-> {registered['ref']}",
    }
    write("DELETE", "/v1/models/audit-iris/aliases/staging", 204)
    assert newest(api)["action"] == "remove alias"

    deployment = {"name": "audit-web", "model": "audit-iris", "config": {"runtime": "torch"}}
    write("POST", "/v1/deployments", 201, json=deployment)
    assert newest(api) == {
        "user": "audit-ed",
        "action": "deploy",
        "object_kind": "deployment",
        "object_id": "audit-web",
        "detail": "audit-iris",
    }
    write("DELETE", "/v1/deployments/audit-web", 204)
    assert newest(api)["action"] == "stop"

    from athanor.data.importing import import_dataset

    write_mnist_pngs(tmp_path / "digits", 4)
    import_dataset(tmp_path / "digits", name="audit-digits", settings=api.settings)
    project = {
        "name": "audit-project",
        "dataset": "audit-digits",
        "kind": "image",
        "labels": [{"name": str(d)} for d in range(10)],
    }
    write("POST", "/v1/label/projects", 201, json=project)
    assert newest(api)["action"] == "create"
    labels = {"items": [{"id": 0, "label": "3"}]}
    write("POST", "/v1/label/projects/audit-project/labels", 200, json=labels)
    assert newest(api) == {
        "user": "audit-ed",
        "action": "label",
        "object_kind": "label project",
        "object_id": "audit-project",
        "detail": "updated 1",
    }
    # A refused or failed change records nothing.
    count = len(api.call("GET", "/v1/audit", params={"user": "audit-ed"}).json())
    write("POST", "/v1/jobs/987654/cancel", 404)
    write("POST", "/v1/users", 403, json={"name": "x", "role": "admin"})
    assert len(api.call("GET", "/v1/audit", params={"user": "audit-ed"}).json()) == count


def test_admins_read_every_entry_and_others_their_own(api: Api, editor: dict[str, str]) -> None:
    api.call("POST", "/v1/jobs/987654/cancel", headers=editor)  # nothing to audit
    api.call("PUT", "/v1/models/iris-mlp/aliases/audit-mine", json={"version": 1})
    own = api.call("GET", "/v1/audit", headers=editor).json()
    assert own and {entry["user"] for entry in own} == {"audit-ed"}
    others = api.call("GET", "/v1/audit", params={"user": "owner"}, headers=editor)
    assert others.status_code == 403
    assert others.json()["detail"] == (
        "user 'audit-ed' is an editor; reading another user's audit entries needs the admin role"
    )
    everything = api.call("GET", "/v1/audit", params={"limit": "1000"}).json()
    assert {"owner", "audit-ed"} <= {entry["user"] for entry in everything}
    future = api.call("GET", "/v1/audit", params={"since": "2999-01-01T00:00:00Z"}).json()
    assert future == []
    seconds = api.call("GET", "/v1/audit", params={"since": "0.5"})  # not seconds since 1970
    assert seconds.status_code == 422 and "ISO 8601" in seconds.text
    mine = api.call("GET", "/v1/audit", params={"user": "owner", "limit": "1"}).json()
    assert mine[0]["object_id"] == "iris-mlp@audit-mine"
    api.call("DELETE", "/v1/models/iris-mlp/aliases/audit-mine")
