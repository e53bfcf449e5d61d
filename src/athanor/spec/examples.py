"""Example specs shipped inside the package (``examples/`` in a checkout links here)."""

from __future__ import annotations

from pathlib import Path

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"


def list_examples() -> list[str]:
    """Names of the bundled example specs (``mnist-cnn``, ...)."""
    return sorted(path.stem for path in EXAMPLES_DIR.glob("*.yaml"))


def resolve_spec_path(source: str | Path) -> Path:
    """A spec file path; a bare example name (``mnist-cnn``) means the bundled example."""
    path = Path(source)
    if path.exists() or path.suffix in (".yaml", ".yml") or len(path.parts) > 1:
        return path
    bundled = EXAMPLES_DIR / f"{source}.yaml"
    return bundled if bundled.is_file() else path
