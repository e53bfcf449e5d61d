"""Roles on every route family through the real app: viewers read, editors change, admins
manage users; refusals are 403 with the reason. ``/v1/users`` and ``/v1/me``."""

from __future__ import annotations

import pytest

from tests.server.routes.conftest import Api

ROLES = ("viewer", "editor", "admin")
SPEC = {"name": "roles-job", "data": {"dataset": "iris"}, "model": {"template": "mlp"}}

# (family, method, path, body, the weakest role allowed, what a refusal says is needed).
# Changes aim at things that do not exist or bodies the route refuses: an allowed role gets
# the route's own 4xx, so the table can run in any order without changing the platform.
ROUTES = [
    ("platform", "GET", "/v1/platform", None, "viewer", ""),
    ("me", "GET", "/v1/me", None, "viewer", ""),
    ("jobs", "GET", "/v1/jobs", None, "viewer", ""),
    ("jobs", "POST", "/v1/jobs", {"spec": {**SPEC, "train": {"epochs": 0}}}, "editor",
     "submitting jobs"),
    ("jobs", "POST", "/v1/jobs/987654/cancel", None, "editor", "cancelling jobs"),
    ("jobs", "POST", "/v1/jobs/987654/resume", None, "editor", "resuming jobs"),
    ("runs", "GET", "/v1/runs", None, "viewer", ""),
    ("runs", "DELETE", "/v1/runs/987654", None, "editor", "deleting runs"),
    ("runs", "POST", "/v1/runs/987654/restore", None, "editor", "restoring runs"),
    ("datasets", "GET", "/v1/datasets", None, "viewer", ""),
    ("datasets", "POST", "/v1/datasets", {"upload": "xyz", "name": "x"}, "editor",
     "importing data"),
    ("datasets", "DELETE", "/v1/uploads/no-such-upload", None, "editor", "uploading data"),
    ("datasets", "DELETE", "/v1/datasets/no-such-data/versions", None, "editor",
     "deleting datasets"),
    ("datasets", "DELETE", "/v1/datasets/no-such-data/versions/1", None, "editor",
     "deleting dataset versions"),
    ("datasets", "PUT", "/v1/uploads/no-such-upload/files/a.csv", None, "editor",
     "uploading data"),
    ("models", "GET", "/v1/models", None, "viewer", ""),
    ("models", "POST", "/v1/models", {"name": "x", "run_id": 987654}, "editor",
     "registering models"),
    ("models", "PUT", "/v1/models/no-such-model/aliases/staging", {"version": 1}, "editor",
     "moving model aliases"),
    ("deployments", "GET", "/v1/deployments", None, "viewer", ""),
    ("deployments", "POST", "/v1/deployments", {"name": "x", "model": "no-such-model"},
     "editor", "deploying models"),
    ("deployments", "DELETE", "/v1/deployments/no-such-deployment", None, "editor",
     "stopping deployments"),
    ("deployments", "POST", "/v1/deployments/no-such-deployment/stop", None, "editor",
     "stopping deployments"),
    ("deployments", "POST", "/v1/deployments/no-such-deployment/start", None, "editor",
     "starting deployments"),
    ("deployments", "POST", "/v1/deployments/no-such-deployment/predict", {"inputs": [[1]]},
     "viewer", ""),
    ("specs", "POST", "/v1/specs/check", {"spec": SPEC}, "viewer", ""),
    ("labeling", "GET", "/v1/label/projects", None, "viewer", ""),
    ("labeling", "POST", "/v1/label/projects/no-such-project/labels",
     {"items": [{"id": 0, "label": "1"}]}, "editor", "labeling"),
    ("users", "GET", "/v1/users", None, "admin", "listing users"),
    ("users", "POST", "/v1/users", {"name": "x!", "role": "viewer"}, "admin", "managing users"),
    ("users", "PATCH", "/v1/users/no-such-user", {"role": "viewer"}, "admin", "managing users"),
    ("users", "DELETE", "/v1/users/no-such-user", None, "admin", "managing users"),
    ("audit", "GET", "/v1/audit", None, "viewer", ""),
    ("workers", "POST", "/v1/workers", {"name": "box-2"}, "admin", "joining workers"),
]  # fmt: skip


@pytest.fixture(scope="module")
def people(api: Api) -> dict[str, dict[str, str]]:
    """A user of each role, added over REST: name -> Authorization header."""
    headers = {}
    for role in ROLES:
        name = f"roles-{role}"
        added = api.call("POST", "/v1/users", json={"name": name, "role": role})
        assert added.status_code == 201, added.text
        assert added.json()["token"].startswith("ath_") and added.json()["role"] == role
        headers[role] = {"Authorization": f"Bearer {added.json()['token']}"}
    return headers


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("family", "method", "path", "body", "needed", "doing"),
    ROUTES,
    ids=[f"{r[0]}-{r[1]}-{r[2]}" for r in ROUTES],
)
def test_each_role_on_each_route_family(
    api: Api,
    people: dict[str, dict[str, str]],
    role: str,
    family: str,
    method: str,
    path: str,
    body: dict | None,
    needed: str,
    doing: str,
) -> None:
    response = api.call(method, path, json=body, headers=people[role])
    if ROLES.index(role) < ROLES.index(needed):
        article = "an" if role == "editor" else "a"
        assert response.status_code == 403, response.text
        assert response.json()["detail"] == (
            f"user 'roles-{role}' is {article} {role}; {doing} needs the {needed} role"
        )
    else:
        assert response.status_code != 403, response.text
        assert response.status_code < 500, response.text


def test_me_names_the_caller_and_their_role(api: Api, people: dict[str, dict[str, str]]) -> None:
    assert api.call("GET", "/v1/me").json() == {
        "name": "owner",
        "role": "admin",
        "credential": "owner token",
    }
    viewer = api.call("GET", "/v1/me", headers=people["viewer"]).json()
    assert viewer == {"name": "roles-viewer", "role": "viewer", "credential": "token"}


def test_admins_add_change_and_remove_users_and_the_last_admin_stays(api: Api) -> None:
    added = api.call("POST", "/v1/users", json={"name": "rest-ann", "role": "viewer"})
    assert added.status_code == 201, added.text
    ann = {"Authorization": f"Bearer {added.json()['token']}"}
    assert added.json()["token_name"] == "rest-ann"
    again = api.call("POST", "/v1/users", json={"name": "rest-ann", "role": "editor"})
    assert again.status_code == 409 and "a user named 'rest-ann' exists" in again.json()["detail"]
    assert api.call("POST", "/v1/users", json={"name": "x", "role": "boss"}).status_code == 422
    listed = {u["name"]: u["role"] for u in api.call("GET", "/v1/users").json()}
    assert listed["rest-ann"] == "viewer" and listed["owner"] == "admin"
    submit = {"spec": {**SPEC, "train": {"epochs": 0}}}
    assert api.call("POST", "/v1/jobs", json=submit, headers=ann).status_code == 403
    changed = api.call("PATCH", "/v1/users/rest-ann", json={"role": "editor"})
    assert changed.status_code == 200 and changed.json()["role"] == "editor"
    # The new role applies to the next request: the refusal is now the spec's own 4xx.
    assert api.call("POST", "/v1/jobs", json=submit, headers=ann).status_code in (400, 422)
    assert api.call("PATCH", "/v1/users/rest-ann", json={"role": "admin"}).status_code == 200
    assert api.call("GET", "/v1/users", headers=ann).status_code == 200  # an admin now
    removed = api.call("DELETE", "/v1/users/rest-ann")
    assert removed.status_code == 200 and removed.json()["tokens_revoked"] == 1
    gone = api.call("GET", "/v1/me", headers=ann)
    assert gone.status_code == 401  # the token was revoked with its user
    assert api.call("DELETE", "/v1/users/rest-ann").status_code == 404


def test_the_last_admin_can_neither_be_removed_nor_demoted(tmp_path) -> None:
    from athanor.jobs.machine import Machine
    from athanor.server.app import create_app
    from athanor.server.context import PlatformContext
    from athanor.server.credentials import ensure_owner_token
    from athanor.settings import Settings
    from athanor.store import open_store
    from tests.serve.conftest import running

    home = tmp_path / "home"
    settings = Settings(home=home, db_url=f"sqlite:///{home / 'athanor.db'}", data_mirrors=())
    store = open_store(settings)
    context = PlatformContext(store=store, machine=Machine("t", (), 1, None))
    owner = {"Authorization": f"Bearer {ensure_owner_token(settings, store.tokens)}"}
    with running(create_app(context)) as client:
        last = client.delete("/v1/users/owner", headers=owner)
        assert last.status_code == 409
        assert last.json()["detail"] == (
            "user 'owner' is the last admin; cannot remove them: make another user an admin "
            "first ('athanor users set-role NAME admin')"
        )
        demoted = client.patch("/v1/users/owner", json={"role": "viewer"}, headers=owner)
        assert demoted.status_code == 409 and "cannot make them a viewer" in demoted.text
        ann = client.post("/v1/users", json={"name": "ann", "role": "admin"}, headers=owner)
        assert client.delete("/v1/users/owner", headers=owner).status_code == 200
        # The owner's token went with its user; ann, the admin left, carries on.
        assert client.get("/v1/me", headers=owner).status_code == 401
        ann_header = {"Authorization": f"Bearer {ann.json()['token']}"}
        assert client.get("/v1/users", headers=ann_header).json()[0]["name"] == "ann"
