"""The ``athanor`` command in real subprocesses: exit codes, messages, JSON output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ATHANOR = [sys.executable, "-m", "athanor.cli"]


def athanor(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*ATHANOR, *args], capture_output=True, text=True, env=os.environ.copy(), timeout=300
    )
    if check and result.returncode != 0:
        raise AssertionError(f"athanor {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def test_help_and_version_do_not_import_torch() -> None:
    code = "import sys, athanor.cli.main; print('torch' in sys.modules)"
    assert (
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        == "False"
    )
    from athanor import __version__

    assert athanor("--version").stdout.strip() == f"athanor {__version__}"
    assert "quickstart" in athanor("--help").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["train", "mnist-cnn", "--set", "train.optimizer.lr=-1"],
            "error: --set train.optimizer.lr=-1: train.optimizer.lr: "
            "must be greater than 0 (got -1)",
        ),
        (
            ["train", "mnist-cnn", "--set", "train.epohcs=2"],
            "error: --set train.epohcs=2: train.epohcs: unknown key (did you mean 'epochs'?)",
        ),
        (["models", "show", "nothing"], "error: no model named 'nothing'"),
        (["runs", "show", "42"], "error: run 42 does not exist"),
        (["predict", "nothing", "x.png"], "error: no model named 'nothing'"),
    ],
)
def test_user_errors_exit_2_with_one_line_and_no_traceback(args: list[str], message: str) -> None:
    result = athanor(*args, check=False)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_misspelt_key_in_a_file_names_its_line(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("data: digits\nmodel:\n  template: mlp\n  hiden: [3]\n")
    result = athanor("train", str(spec), check=False)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {spec}:4: model.hiden: unknown key")


def test_debug_shows_the_traceback() -> None:
    result = athanor("--debug", "runs", "show", "42", check=False)
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_doctor_and_catalog_json(athanor_home: Path) -> None:
    info = json.loads(athanor("doctor", "--json").stdout)
    assert info["athanor_home"] == str(athanor_home.resolve())
    assert info["devices"][0]["device"] == "cpu" and info["torch"]
    measured = info["throughput"]["cpu"]
    assert measured["matmul_flops"] > 1e7 and measured["conv_flops"] > 1e7
    assert info["free_disk"] > 0
    names = {entry["name"] for entry in json.loads(athanor("data", "catalog", "--json").stdout)}
    assert {"mnist", "digits", "iris", "diabetes"} <= names
    assert "no runs yet" in athanor("runs", "list").stdout
