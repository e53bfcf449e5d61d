"""Exporting registered models: the package itself (folder or zip), ONNX and TorchScript.

Each format registers an exporter under its name; ``athanor models export --format NAME``
looks it up. Every exporter writes into a temporary path beside the destination, which is
renamed into place only once the export has been checked, so a failed export leaves nothing.
"""

from athanor.registry.export import to_onnx, to_package, to_torchscript  # noqa: F401
from athanor.registry.export.base import (
    EXPORTERS,
    ExportResult,
    export_package,
    register_exporter,
)

__all__ = ["EXPORTERS", "ExportResult", "export_package", "register_exporter"]
