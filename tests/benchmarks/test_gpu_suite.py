"""benchmarks/gpu_suite.py's logic on the CPU: its table, its JSON, its skips."""

from __future__ import annotations

import importlib.util
import json
import sys
import tempfile
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_suite.py"


@pytest.fixture(scope="module")
def suite():
    spec = importlib.util.spec_from_file_location("gpu_suite", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_suite"] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules["gpu_suite"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is visible")
def test_without_cuda_it_stops_at_once_and_says_why(suite, capsys) -> None:
    assert suite.main([]) == 2
    assert "no CUDA GPU is visible here" in capsys.readouterr().err


def test_cpu_quick_checks_write_the_table(suite, mirror: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "suite.json"
    checks = ["gpu_resident_batching", "amp_fp16", "ddp_nccl", "cifar10_preset"]
    homes_before = set(Path(tempfile.gettempdir()).glob("athanor-gpu-suite-*"))
    code = suite.main(["--device", "cpu", "--quick", "--only", *checks, "--out", str(out)])
    assert set(Path(tempfile.gettempdir()).glob("athanor-gpu-suite-*")) <= homes_before
    table = json.loads(out.read_text())
    results = {row["name"]: row for row in table["checks"]}
    assert code == 0, results
    assert table["machine"]["device"] == "cpu" and table["machine"]["torch"] == torch.__version__
    assert results["gpu_resident_batching"]["result"] == "ok"
    assert results["gpu_resident_batching"]["figures"]["samples_per_second"] > 0
    assert results["amp_fp16"]["result"] == "skipped"
    assert "needs a CUDA GPU" in results["amp_fp16"]["detail"]
    assert results["ddp_nccl"]["result"] == "skipped"
    assert results["cifar10_preset"]["result"] == "skipped"  # no CIFAR-10 in the test mirror
    assert "gpu_resident_batching" in capsys.readouterr().out
