"""Serving and export settings: validated with named keys, and every key documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from athanor.errors import SpecError
from athanor.spec.loading import validate_settings
from athanor.spec.serving import ExportSpec, ServingSpec

GUIDE = (Path(__file__).resolve().parents[2] / "docs" / "models.md").read_text()


def test_every_serving_and_export_key_is_documented() -> None:
    for model in (ServingSpec, ExportSpec):
        missing = [field for field in model.model_fields if f"| `{field}` |" not in GUIDE]
        assert missing == [], model.__name__


def test_settings_errors_name_the_key_and_the_limit() -> None:
    assert validate_settings(ServingSpec, {}, "serve options") == ServingSpec()
    assert ServingSpec(max_body_mb=1).max_body_bytes == 1024 * 1024
    with pytest.raises(SpecError) as caught:
        validate_settings(ServingSpec, {"max_batch_size": 0, "device": "tpu"}, "serve options")
    lines = str(caught.value).splitlines()
    assert lines[0] == ("serve options: max_batch_size: must be greater than or equal to 1 (got 0)")
    assert lines[1].startswith("serve options: device: must match pattern")
    with pytest.raises(SpecError, match="unknown key \\(did you mean 'max_wait_ms'\\?\\)"):
        validate_settings(ServingSpec, {"max_wiat_ms": 3}, "serve options")
    with pytest.raises(SpecError, match="export: format: must be 'package', 'zip'"):
        validate_settings(ExportSpec, {"format": "tflite"}, "export")
