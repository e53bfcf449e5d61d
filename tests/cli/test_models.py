"""``athanor models`` in real subprocesses: alias, export, import into another home, delete."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from PIL import Image

from athanor.registry import register_package
from athanor.store import open_store
from tests.cli.test_main import ATHANOR


def athanor_in(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ATHANOR_HOME": str(home)}
    result = subprocess.run([*ATHANOR, *args], capture_output=True, text=True, env=env, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"athanor {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def test_alias_export_import_elsewhere_and_delete(
    trained_digits, digits_raw, athanor_home: Path, tmp_path: Path
) -> None:
    run, _ = trained_digits
    store = open_store()
    for _ in range(2):
        register_package(store, "digits", run.package_dir)
    home = athanor_home
    assert (
        "digits@production -> digits@2"
        in athanor_in(home, "models", "alias", "digits", "production", "2").stdout
    )
    exported = json.loads(
        athanor_in(
            home,
            "models",
            "export",
            "digits@production",
            "--format",
            "onnx",
            "-o",
            str(tmp_path / "digits.onnx"),
            "--json",
        ).stdout
    )
    assert exported["max_abs_diff"] <= 1e-4 and exported["details"]["opset"] == 17
    archive = tmp_path / "digits.zip"
    athanor_in(home, "models", "export", "digits@2", "-f", "zip", "-o", str(archive))

    # Another home: import the zip, check its hash, and predict the same probabilities.
    other = tmp_path / "other-home"
    imported = athanor_in(
        other,
        "models",
        "import",
        str(archive),
        "--name",
        "digits-copy",
        "--hash",
        exported["content_hash"],
        "--json",
    )
    assert json.loads(imported.stdout)["ref"] == "digits-copy@1"
    image = tmp_path / "digit.png"
    Image.fromarray(digits_raw.x[11, 0]).save(image)
    here = json.loads(athanor_in(home, "predict", "digits@production", str(image), "--json").stdout)
    there = json.loads(athanor_in(other, "predict", "digits-copy", str(image), "--json").stdout)
    assert here["predictions"] == there["predictions"]
    guarded = athanor_in(home, "models", "delete", "digits@2", check=False)
    assert guarded.returncode == 2 and "production -> digits@2" in guarded.stderr
    assert "deleted digits@2" in athanor_in(home, "models", "delete", "digits@2", "--force").stdout
    assert [r.version for r in store.models.versions("digits")] == [1]
