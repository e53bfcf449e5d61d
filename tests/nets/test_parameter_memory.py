"""Networks too large to allocate are refused, with the memory they need, before allocation."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from athanor.data.prepare import load_raw
from athanor.data.schema import InputSchema, Schema
from athanor.errors import ShapeError
from athanor.nets import build_network
from athanor.nets.summary import summary
from athanor.spec.model import LayerStackSpec

HUGE = {"layers": [{"dense": 10_000_000}, {"dense": 10_000_000}]}


@pytest.fixture(scope="module")
def iris_schema() -> Schema:
    """Iris as the builder sees it: 4 features, 3 classes."""
    raw = load_raw("iris")
    return Schema(
        task="classification",
        input=InputSchema(kind="tabular", shape=[raw.x.shape[1]]),
        classes=[str(c) for c in raw.classes],
    )


def test_a_network_beyond_the_machine_is_refused_before_allocation(iris_schema) -> None:
    started = time.perf_counter()
    with pytest.raises(ShapeError) as caught:
        build_network(LayerStackSpec.model_validate(HUGE), iris_schema)
    assert time.perf_counter() - started < 5
    message = str(caught.value)
    assert "100,000,090,000,003 parameters, which need 363.8 TiB (4 bytes each)" in message
    assert "the memory available on this machine" in message
    assert "'dense_2' (100,000,010,000,000)" in message
    with pytest.raises(ShapeError, match="363.8 TiB"):
        summary(HUGE, schema=iris_schema)


def test_the_limit_can_be_set_and_a_network_within_it_builds(
    iris_schema, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = LayerStackSpec.model_validate({"layers": [{"dense": 512}, {"dense": 512}]})
    network = build_network(spec, iris_schema, seed=3)  # 266,755 parameters, about 1 MiB
    assert sum(p.numel() for p in network.parameters()) == 266_755
    monkeypatch.setenv("ATHANOR_MAX_PARAMETER_MB", "1")
    with pytest.raises(ShapeError, match=r"more than 1.0 MiB \(ATHANOR_MAX_PARAMETER_MB=1\)"):
        build_network(spec, iris_schema, seed=3)
    monkeypatch.setenv("ATHANOR_MAX_PARAMETER_MB", "2")
    again = build_network(spec, iris_schema, seed=3)
    for first, second in zip(network.parameters(), again.parameters(), strict=True):
        assert first.equal(second)  # the check on the meta device leaves seeding alone


def test_athanor_summary_names_the_memory_instead_of_an_allocator_error(tmp_path: Path) -> None:
    spec = tmp_path / "huge.yaml"
    spec.write_text(
        "name: huge\ndata: {dataset: iris}\nmodel:\n  layers:\n"
        "    - dense: 10000000\n    - dense: 10000000\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "athanor.cli", "summary", str(spec)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "363.8 TiB (4 bytes each)" in result.stderr
    assert "Traceback" not in result.stderr and "alloc" not in result.stderr
