"""Registered model names and their numbered versions."""

from __future__ import annotations

import pytest

from athanor.errors import NotFound
from athanor.store import open_store

pytestmark = pytest.mark.usefixtures("backend")


def test_versions_count_up_per_name_and_resolve() -> None:
    models = open_store().models
    assert models.next_version("a") == 1
    for version in (1, 2):
        models.add_version("a", version=version, path=f"models/a/v{version}", content_hash="h")
    models.add_version("b", version=1, path="models/b/v1", content_hash="h")
    assert models.next_version("a") == 3
    assert models.get("a").version == 2
    assert models.get("a", 1).path == "models/a/v1"
    assert [v.version for v in models.versions("a")] == [2, 1]
    listed = {m.name: (m.versions, m.latest) for m in models.list()}
    assert listed == {"a": (2, 2), "b": (1, 1)}


def test_taken_version_and_missing_ones() -> None:
    models = open_store().models
    models.add_version("a", version=1, path="p", content_hash="h")
    with pytest.raises(FileExistsError):
        models.add_version("a", version=1, path="q", content_hash="h")
    with pytest.raises(NotFound, match="model 'a' has no version 7; versions: 1"):
        models.get("a", 7)
    with pytest.raises(NotFound, match="no model named 'zzz'"):
        models.get("zzz")


def test_aliases_move_and_name_what_exists() -> None:
    models = open_store().models
    for version in (1, 2):
        models.add_version("a", version=version, path=f"p{version}", content_hash="h")
    assert models.set_alias("a", "production", 1) is None
    assert models.set_alias("a", "production", 2) == 1
    models.set_alias("a", "staging", 1)
    assert models.aliases("a") == {"production": 2, "staging": 1}
    assert models.alias_version("a", "production") == 2
    assert models.get("a", 2).aliases == ("production",)
    assert {m.name: m.aliases for m in models.list()} == {"a": {"production": 2, "staging": 1}}
    with pytest.raises(NotFound, match="has no alias 'canary'; aliases: production -> 2"):
        models.alias_version("a", "canary")
    with pytest.raises(NotFound, match="has no version 9"):
        models.set_alias("a", "production", 9)
    assert models.remove_alias("a", "staging") == 1
    assert models.aliases("a") == {"production": 2}


def test_tags_and_descriptions() -> None:
    models = open_store().models
    models.add_version("a", version=1, path="p", content_hash="h", tags={"origin": "run 1"})
    record = models.set_tags("a", 1, {"reviewed": "yes", "origin": "import"})
    assert record.tags == {"origin": "import", "reviewed": "yes"}
    assert models.remove_tags("a", 1, ["origin"]).tags == {"reviewed": "yes"}
    with pytest.raises(NotFound, match="a@1 has no tag nope; its tags: reviewed"):
        models.remove_tags("a", 1, ["nope"])
    models.set_description("a", 1, "the first")
    models.set_description("a", None, "digits")
    assert models.get("a", 1).description == "the first"
    assert models.list()[0].description == "digits"


def test_deleted_version_numbers_are_never_reused() -> None:
    models = open_store().models
    for version in (1, 2):
        models.add_version("a", version=version, path=f"p{version}", content_hash="h")
    models.set_tags("a", 2, {"k": "v"})
    models.set_alias("a", "production", 2)
    models.delete_version("a", 2)
    assert models.aliases("a") == {}
    assert models.next_version("a") == 3  # not 2 again: a@2 must never mean another package
    models.add_version("a", version=3, path="p3", content_hash="h")
    assert models.get("a", 3).tags == {}
    assert [r.version for r in models.delete_model("a")] == [3, 1]
    assert models.list() == []
    assert models.next_version("a") == 1
