"""``athanor.estimate``: an epoch's overhead is measured with a run's own bookkeeping, which
writes into a scratch store and never into the user's."""

from __future__ import annotations

import athanor as at
from athanor.api import estimates
from athanor.store import open_store
from athanor.training.callbacks import StoreLogger


def test_the_overhead_is_timed_with_a_runs_bookkeeping_in_a_scratch_store() -> None:
    found = at.estimate("xor-mlp", ["cpu"], steps=2)
    assert found.device("cpu").epoch_seconds[1] > 0
    assert open_store().runs.list() == []  # the user's store holds no estimate's run
    scratch = estimates._scratch["store"]
    assert scratch.settings.home != open_store().settings.home
    run = scratch.runs.list(name="estimate")[0]  # the newest
    assert scratch.runs.metrics(run.id)  # the two short epochs logged their metrics
    spec, prepared = _spec_and_data()
    callbacks = estimates._run_bookkeeping(spec, prepared, _network(spec, prepared))
    assert any(isinstance(callback, StoreLogger) for callback in callbacks)


def _spec_and_data():
    from athanor.api.networks import _prepare_offline
    from athanor.settings import current_settings
    from athanor.spec.examples import resolve_spec_path
    from athanor.spec.loading import load_spec

    spec = load_spec(resolve_spec_path("xor-mlp"), [])
    return spec, _prepare_offline(spec, current_settings())


def _network(spec, prepared):
    from athanor.nets.builder import build_network

    return build_network(spec.model, prepared.schema, seed=spec.seed)
