"""Dataset versions in the metadata database: numbering, lookup by number or hash."""

from __future__ import annotations

import pytest

from athanor.errors import DatasetNotFound
from athanor.store import open_store

pytestmark = pytest.mark.usefixtures("backend")


def test_versions_are_numbered_and_found_by_number_or_hash_prefix() -> None:
    datasets = open_store().datasets
    common = {
        "kind": "tabular",
        "task": "regression",
        "source": "x.csv",
        "rows": 3,
        "size_bytes": 10,
        "info": {},
    }
    first, new = datasets.add_version("t", content_hash="ab" * 32, path="datasets/a", **common)
    assert new and first.number == 1 and first.ref == "t@" + "ab" * 6
    same, new = datasets.add_version("t", content_hash="ab" * 32, path="datasets/a", **common)
    assert not new and same.number == 1
    second, _ = datasets.add_version("t", content_hash="cd" * 32, path="datasets/c", **common)
    assert second.number == 2 and datasets.get("t").number == 2
    assert datasets.get("t", "1").content_hash == "ab" * 32
    assert datasets.get("t", "cdcd").number == 2
    assert datasets.uses_of("datasets/a") == 1
    with pytest.raises(DatasetNotFound, match=r"'t@9' is not a version .*versions: 2 \(cdcd"):
        datasets.get("t", "9")
    with pytest.raises(DatasetNotFound, match="no dataset named 'u'"):
        datasets.get("u")
    assert [(s.name, s.versions, s.latest.number) for s in datasets.list()] == [("t", 2, 2)]
