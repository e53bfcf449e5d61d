"""The task callbacks a run gets: an anomaly detector's threshold rule comes from its spec."""

from __future__ import annotations

import pytest
from rich.console import Console

from athanor.data.prepare import prepare
from athanor.runs.callbacks import task_callbacks
from athanor.spec import load_spec
from athanor.spec.examples import EXAMPLES_DIR
from athanor.training.callbacks.anomaly_threshold import AnomalyThreshold


@pytest.mark.parametrize(
    ("rule", "expected"),
    [({}, ("quantile", 0.99, 3.0)), ({"method": "sigma", "k": 4.5}, ("sigma", 0.99, 4.5))],
)
def test_the_threshold_rule_comes_from_the_spec(nab_mirror, rule, expected) -> None:
    spec = load_spec(EXAMPLES_DIR / "autoencoder-nab.yaml")
    spec = spec.model_copy(
        update={
            "data": spec.data.model_copy(update={"series": "rogue_agent_key_hold"}),
            "train": spec.train.model_copy(
                update={"anomaly_threshold": spec.train.anomaly_threshold.model_copy(update=rule)}
            ),
        }
    )
    prepared = prepare(spec.data, spec.seed)
    (callback,) = task_callbacks(spec, prepared, None, console=Console(), progress=False)
    assert isinstance(callback, AnomalyThreshold)
    assert (callback.method, callback.quantile, callback.k) == expected
