"""A small search on iris that trains in a fraction of a second per trial."""

from __future__ import annotations

from typing import Any

import pytest

IRIS_SEARCH: dict[str, Any] = {
    "name": "iris-search",
    "seed": 3,
    "data": {"dataset": "iris", "split": {"val": 0.2, "test": 0.2}},
    "model": {"template": "mlp", "hidden": {"choice": [[8], [32, 16]]}},
    "train": {
        "epochs": 6,
        "batch_size": 16,
        "optimizer": {"type": "adam", "lr": {"loguniform": [1.0e-3, 5.0e-2]}},
    },
    "tune": {"metric": "val_accuracy", "trials": 4, "sampler": "random"},
}


@pytest.fixture(autouse=True)
def fresh_searches():
    """Each test opens the searches' database of its own home."""
    yield
    from athanor.tuning.study import close_storages

    close_storages()


@pytest.fixture(params=["sqlite", "postgresql"])
def search_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """Searches on the embedded SQLite files, or with both of their databases on PostgreSQL:
    the metadata database (trials' runs) and Optuna's (a database of its own, since both
    keep an ``alembic_version`` table)."""
    if request.param == "sqlite":
        yield request.param
        return
    from athanor.tuning.study import close_storages

    request.getfixturevalue("postgres_url")
    server = request.getfixturevalue("postgres_server")
    name = server.create_database()
    monkeypatch.setenv("ATHANOR_TUNE_DB_URL", server.url(name))
    yield request.param
    close_storages()
    server.drop_database(name)


@pytest.fixture
def iris_search() -> dict[str, Any]:
    import copy

    return copy.deepcopy(IRIS_SEARCH)


from tests.server.conftest import platform_factory  # noqa: E402  (searches on a platform)

__all__ = ["platform_factory"]
