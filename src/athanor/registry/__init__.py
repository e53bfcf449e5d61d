"""The model registry: packages (weights + spec + preprocessing) as numbered versions."""

from athanor.registry.package import ModelPackage, load_package, package_hash, write_package
from athanor.registry.registry import (
    check_model_name,
    package_path,
    parse_ref,
    register_package,
    resolve,
)

__all__ = [
    "ModelPackage",
    "check_model_name",
    "load_package",
    "package_hash",
    "package_path",
    "parse_ref",
    "register_package",
    "resolve",
    "write_package",
]
