"""Exporting the package itself: a folder, or one zip file, that ``models import`` reads."""

from __future__ import annotations

from pathlib import Path

from athanor.registry.archive import copy_package, write_package_zip
from athanor.registry.export.base import ExportResult, register_exporter
from athanor.registry.package import ModelPackage, load_package
from athanor.spec.serving import ExportSpec


@register_exporter(
    "package", suffix="", is_folder=True, description="the package folder (safetensors + JSON)"
)
def export_folder(package: ModelPackage, path: Path, spec: ExportSpec) -> ExportResult:
    """Copy the package's files into the new folder ``path`` and verify the copy."""
    copy_package(package.path, path)
    copied = load_package(path, expected_hash=package.content_hash)
    return ExportResult("package", path, copied.content_hash)


@register_exporter("zip", suffix=".zip", description="the package as one zip file")
def export_zip(package: ModelPackage, path: Path, spec: ExportSpec) -> ExportResult:
    """Write the package's files into the zip file ``path``."""
    write_package_zip(package.path, path)
    return ExportResult("zip", path, package.content_hash, details={"bytes": path.stat().st_size})
