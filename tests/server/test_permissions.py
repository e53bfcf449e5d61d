"""The permission table covers every route the API has, and its refusals read well."""

from __future__ import annotations

from athanor.server.openapi import openapi_document
from athanor.server.permissions import READ_METHODS, READS, WRITES, Permission, refusal


def test_every_change_the_api_offers_is_declared_and_documented_with_403() -> None:
    document = openapi_document()
    offered = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    changes = {key for key in offered if key[0] not in READ_METHODS}
    undeclared = changes - set(WRITES) - set(READS)
    assert not undeclared, f"add these to permissions.WRITES or READS: {sorted(undeclared)}"
    assert set(WRITES) | set(READS) <= offered, "the table names routes that do not exist"
    for method, path in {*WRITES, ("GET", "/v1/users")}:
        operation = document["paths"][path][method.lower()]
        assert "403" in operation["responses"], (method, path)
        assert operation["x-athanor-role"] in ("editor", "admin")


def test_a_refusal_names_the_user_their_role_and_the_role_needed() -> None:
    submitting = Permission("jobs", "editor", "submitting jobs")
    assert refusal("ann", "viewer", submitting) == (
        "user 'ann' is a viewer; submitting jobs needs the editor role"
    )
    assert refusal("ed", "editor", submitting) is None
    assert refusal("ed", "editor", Permission("users", "admin", "managing users")) == (
        "user 'ed' is an editor; managing users needs the admin role"
    )
