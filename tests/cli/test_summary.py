"""``athanor summary`` in real subprocesses: a spec at another input size, a registered model,
and a broken spec."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_main import athanor


def test_the_conv2d_example_from_a_spec(tmp_path: Path) -> None:
    spec = tmp_path / "conv.yaml"
    spec.write_text(
        "data: digits\nmodel:\n  layers:\n"
        "    - conv2d: {filters: 64, kernel: 3, stride: 1, padding: 1}\n"
        "    - globalavgpool\n"
    )
    data = json.loads(athanor("summary", str(spec), "--input", "10,3,224,224", "--json").stdout)
    conv = data["layers"][0]
    assert conv["output_shape"] == [10, 64, 224, 224]
    assert conv["parameters"]["total"] == 1792
    assert conv["parameters"]["shapes"] == {"conv.weight": [64, 3, 3, 3], "conv.bias": [64]}
    assert conv["multiplications"] == conv["additions"] == conv["macs"] == 867_041_280
    assert conv["activation_bytes"] == 128_450_560
    assert data["totals"]["parameters"] == 1792 + 64 * 10 + 10


def test_a_registered_model_as_a_table(trained_digits, monkeypatch: pytest.MonkeyPatch) -> None:
    run, settings = trained_digits
    monkeypatch.setenv("ATHANOR_HOME", str(settings.home))
    out = athanor("summary", "digits-cnn@1", "--input", "32,1,8,8").stdout
    lines = out.splitlines()
    conv = next(line for line in lines if "conv2d_1" in line)
    # 32 images x 8 filters x 8 x 8 positions x 9 products (1 channel, 3x3 kernel)
    assert "[32, 8, 8, 8]" in conv and f"{32 * 8 * 8 * 8 * 9:,}" in conv
    total = sum(p.numel() for p in run.network.parameters())
    assert any(line.startswith(f"parameters {total:,} (trainable {total:,}") for line in lines)


def test_a_broken_spec_names_the_layer(tmp_path: Path) -> None:
    spec = tmp_path / "broken.yaml"
    spec.write_text("data: digits\nmodel:\n  layers:\n    - flatten\n    - lstm: 16\n")
    result = athanor("summary", str(spec), check=False)
    assert result.returncode == 2
    assert result.stderr.startswith(
        "error: layer 2 (lstm): expects sequences [steps, features], layer 1 (flatten) gives [64]"
    )
