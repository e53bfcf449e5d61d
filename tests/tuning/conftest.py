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


@pytest.fixture
def iris_search() -> dict[str, Any]:
    import copy

    return copy.deepcopy(IRIS_SEARCH)


from tests.server.conftest import platform_factory  # noqa: E402  (searches on a platform)

__all__ = ["platform_factory"]
