"""Story: a new user trains a digit classifier and a house-price regression, then looks at
what the test split says beyond one number: ``athanor runs show`` and an HTML report."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ATHANOR = [sys.executable, "-m", "athanor.cli"]


def _athanor(cwd: Path, *args: str) -> str:
    env = {**os.environ, "COLUMNS": "80"}
    result = subprocess.run(
        [*ATHANOR, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )
    assert result.returncode == 0, f"athanor {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_story_evaluation_you_can_look_at(mirror: Path, tmp_path: Path) -> None:
    digits = json.loads(
        _athanor(
            tmp_path,
            "train",
            "mnist-cnn",
            "--set",
            "train.epochs=1",
            "--set",
            "data.subset.train=1500",
            "--set",
            "data.subset.val=300",
            "--set",
            "data.subset.test=400",
            "--json",
        )
    )
    run_id = str(digits["run"]["id"])
    shown = _athanor(tmp_path, "runs", "show", run_id)
    assert "confusion matrix (rows: actual, columns: predicted)" in shown
    assert "per class (test)" in shown and "most confidently wrong" in shown
    assert f"athanor runs report {run_id}" in shown  # where the figures are
    row_7 = next(line for line in shown.splitlines() if line.startswith(" 7 "))
    assert sum(int(v) for v in row_7.split()[1:]) > 0

    _athanor(tmp_path, "runs", "report", run_id, "-o", "r.html")
    html = (tmp_path / "r.html").read_text()
    assert "Confusion matrix" in html and "Per class" in html and "<svg" in html
    assert len(re.findall(r"data:image/png;base64,", html)) >= 1  # wrong digits, as images
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")

    housing = json.loads(
        _athanor(
            tmp_path,
            "train",
            "mlp-california",
            "--set",
            "train.epochs=1",
            "--set",
            "data.subset.train=2000",
            "--json",
        )
    )
    run_id = str(housing["run"]["id"])
    shown = _athanor(tmp_path, "runs", "show", run_id)
    assert "error by decile of actual median_house_value" in shown
    evaluation = json.loads(_athanor(tmp_path, "runs", "show", run_id, "--json"))["evaluation"]
    assert evaluation["task"] == "regression" and len(evaluation["deciles"]) == 10
    assert (
        abs(evaluation["rmse"] - housing["test_metrics"]["test_rmse"]) < 1e-3 * evaluation["rmse"]
    )
    _athanor(tmp_path, "runs", "report", run_id, "-o", "h.html")
    html = (tmp_path / "h.html").read_text()
    assert "Predicted against actual" in html and "Error by decile" in html
