"""Example specs shipped inside the package (``examples/`` in a checkout links here)."""

from __future__ import annotations

from pathlib import Path

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"


def list_examples(*, searches: bool | None = None) -> list[str]:
    """Names of the bundled example specs (``mnist-cnn``, ...).

    ``searches``: only search specs (a ``tune`` section: ``athanor tune``) when true, only run
    specs (``athanor train``, the console's job templates) when false, both by default.
    """
    names = sorted(path.stem for path in EXAMPLES_DIR.glob("*.yaml"))
    if searches is None:
        return names
    return [name for name in names if is_search_example(name) == searches]


def is_search_example(name: str) -> bool:
    """Whether the bundled example ``name`` is a search spec (it has a ``tune`` section)."""
    from athanor.spec.loading import load_yaml_text

    path = EXAMPLES_DIR / f"{name}.yaml"
    data = load_yaml_text(path.read_text(encoding="utf-8"), str(path))
    return isinstance(data, dict) and "tune" in data


def resolve_spec_path(source: str | Path) -> Path:
    """A spec file path; a bare example name (``mnist-cnn``) means the bundled example."""
    path = Path(source)
    if path.exists() or path.suffix in (".yaml", ".yml") or len(path.parts) > 1:
        return path
    bundled = EXAMPLES_DIR / f"{source}.yaml"
    return bundled if bundled.is_file() else path
