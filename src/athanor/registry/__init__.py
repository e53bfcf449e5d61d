"""The model registry: packages (weights + spec + preprocessing) as numbered versions with
aliases and tags; import and export (package, zip, ONNX, TorchScript)."""

from athanor.registry.package import ModelPackage, load_package, package_hash, write_package
from athanor.registry.registry import (
    check_alias_name,
    check_model_name,
    delete_versions,
    import_package,
    package_path,
    parse_ref,
    register_package,
    resolve,
)

__all__ = [
    "ModelPackage",
    "check_alias_name",
    "check_model_name",
    "delete_versions",
    "import_package",
    "load_package",
    "package_hash",
    "package_path",
    "parse_ref",
    "register_package",
    "resolve",
    "write_package",
]
