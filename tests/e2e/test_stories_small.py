"""Small models and learners' tools as a new user meets them, with the real CLI in
subprocesses: the perceptron that cannot learn XOR and the MLP that can, the op-count
homework of one convolution layer, and a run whose output is piped into ``head``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.cli.test_main import athanor


def _trained(example: str) -> dict:
    result = json.loads(athanor("train", example, "--json").stdout)
    assert result["run"]["status"] == "succeeded"
    return result["run"]


def test_a_perceptron_cannot_learn_xor_and_one_hidden_layer_can() -> None:
    perceptron = _trained("xor-perceptron")
    assert perceptron["summary"]["metrics"]["train_accuracy"] <= 0.75  # no line separates XOR
    assert perceptron["summary"]["parameters"] == {"trainable": 6, "frozen": 0}
    assert perceptron["summary"]["data"]["split"]["sizes"] == {"train": 4}  # split: none
    assert "nothing is held out" in perceptron["summary"]["data"]["warnings"][0]

    mlp = _trained("xor-mlp")
    assert mlp["summary"]["metrics"]["train_accuracy"] == 1.0
    shown = athanor("runs", "show", str(mlp["id"])).stdout
    assert "warning: data.split: none: training on all 4 samples of 'xor'" in shown


def test_the_op_count_homework(tmp_path: Path) -> None:
    # one 3x3 convolution, 3 -> 64 channels, padding 1, on 10 images of 3x224x224
    spec = tmp_path / "homework.yaml"
    spec.write_text("model:\n  layers:\n    - conv2d: {filters: 64, kernel: 3, padding: 1}\n")
    out = athanor("summary", str(spec), "--input", "10,3,224,224").stdout
    assert "parameters 1,792 (trainable 1,792, frozen 0)" in out
    assert "multiplications 867,041,280;" in out
    rows = [line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│")]
    assert rows == ["conv2d_1"]  # exactly the layer given: no output layer added
    single = json.loads(athanor("summary", str(spec), "--input", "3,224,224", "--json").stdout)
    assert single["input_shape"] == [1, 3, 224, 224]  # no batch: a batch of one
    assert single["totals"]["multiplications"] == 867_041_280 // 10


def test_a_run_piped_into_head_still_finishes() -> None:
    command = (
        f"'{sys.executable}' -m athanor.cli train xor-mlp 2>&1 | head -n 2; "
        'echo "exit ${PIPESTATUS[0]}"'
    )
    piped = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, env=os.environ.copy(), timeout=300
    )
    lines = piped.stdout.splitlines()
    assert lines[0] == "run 1: loading xor..." and lines[-1] == "exit 0", piped.stdout
    assert "Traceback" not in piped.stdout + piped.stderr
    (run,) = json.loads(athanor("runs", "list", "--json").stdout)
    assert run["status"] == "succeeded" and run["status_reason"] == "completed 50 epoch(s)"
