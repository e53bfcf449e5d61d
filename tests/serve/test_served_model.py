"""Following the registry: a served alias or newest version swaps; a fixed version never."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from athanor.registry import register_package
from athanor.serve.metrics import ServingMetrics
from athanor.serve.served_model import ServedModel
from athanor.spec.serving import ServingSpec
from athanor.store import open_store


def test_newest_and_aliases_are_followed_and_failures_keep_the_current_version(
    trained_digits, digits_raw, caplog: pytest.LogCaptureFixture
) -> None:
    run, _ = trained_digits
    store = open_store()
    register_package(store, "d", run.package_dir)
    config = ServingSpec(runtime="torch", max_wait_ms=0)
    newest = ServedModel("d", store, config, ServingMetrics())
    fixed = ServedModel("d@1", store, config, ServingMetrics())
    store.models.set_alias("d", "production", 1)
    aliased = ServedModel("d@production", store, config, ServingMetrics())
    try:
        register_package(store, "d", run.package_dir)
        assert newest.refresh() is True and newest.active.record.ref == "d@2"
        assert newest.refresh() is False  # nothing changed since
        assert fixed.follows is False and fixed.refresh() is False
        assert aliased.refresh() is False  # production still points at 1
        store.models.remove_alias("d", "production")
        with caplog.at_level(logging.WARNING, logger="athanor.serve"):
            assert aliased.try_refresh() is False
        assert "keeping d@1: model 'd' has no alias 'production'" in caplog.text
        assert aliased.active.record.ref == "d@1" and aliased.last_error
        scores = aliased.active.batcher.submit(digits_raw.x[:3]).result(10)
        assert scores.shape == (3, 10) and np.allclose(scores.sum(axis=1), 1, atol=1e-5)
    finally:
        for model in (newest, fixed, aliased):
            model.close()
