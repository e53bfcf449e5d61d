"""The model registry: packages (weights + spec + preprocessing) as numbered versions with
aliases and tags; import and export (package, zip, ONNX, TorchScript).

The names below load on first use, so that listing models does not pay for PyTorch.
"""

from __future__ import annotations

from athanor._lazy import lazy_attributes

_EXPORTS = {
    "ModelPackage": "athanor.registry.package:ModelPackage",
    "load_package": "athanor.registry.package:load_package",
    "package_hash": "athanor.registry.package:package_hash",
    "write_package": "athanor.registry.package:write_package",
    "check_alias_name": "athanor.registry.registry:check_alias_name",
    "check_model_name": "athanor.registry.registry:check_model_name",
    "delete_versions": "athanor.registry.registry:delete_versions",
    "import_package": "athanor.registry.registry:import_package",
    "package_path": "athanor.registry.registry:package_path",
    "parse_ref": "athanor.registry.registry:parse_ref",
    "register_package": "athanor.registry.registry:register_package",
    "resolve": "athanor.registry.registry:resolve",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_attributes(__name__, _EXPORTS)
