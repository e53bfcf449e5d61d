"""Registered model names and their numbered versions."""

from __future__ import annotations

import pytest

from athanor.errors import NotFound
from athanor.store import open_store


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
