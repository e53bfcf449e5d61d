"""The model registry: packages (weights + spec + preprocessing) as numbered versions with
aliases and tags; import and export (package, zip, ONNX, TorchScript).

The names below load on first use, so that listing models does not pay for PyTorch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ModelPackage": "athanor.registry.package",
    "load_package": "athanor.registry.package",
    "package_hash": "athanor.registry.package",
    "write_package": "athanor.registry.package",
    "check_alias_name": "athanor.registry.registry",
    "check_model_name": "athanor.registry.registry",
    "delete_versions": "athanor.registry.registry",
    "import_package": "athanor.registry.registry",
    "package_path": "athanor.registry.registry",
    "parse_ref": "athanor.registry.registry",
    "register_package": "athanor.registry.registry",
    "resolve": "athanor.registry.registry",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'athanor.registry' has no attribute '{name}'")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
