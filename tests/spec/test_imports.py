"""Import options: one validated model for the CLI, the Python API and the REST bodies."""

from __future__ import annotations

import pytest

from athanor.errors import SpecError
from athanor.spec.imports import IMPORT_KINDS, ImportOptions, import_options


def test_values_are_validated_with_their_defaults() -> None:
    options = import_options(values={"name": "houses", "target": "price"})
    assert options == ImportOptions(name="houses", target="price")
    assert (options.kind, options.task, options.skip_bad, options.encoding) == (
        "auto",
        None,
        False,
        "utf-8",
    )
    assert IMPORT_KINDS == (
        "table",
        "images",
        "idx",
        "text",
        "text_classes",
        "documents",
        "series",
        "detection",
        "logs",
        "log_keys",
    )
    assert options.format is None  # detection: detected


def test_values_go_over_given_options_and_given_options_stay_as_they_are() -> None:
    base = ImportOptions(name="houses", target="price", skip_bad=True)
    assert import_options(base) is base
    changed = import_options(base, {"name": "homes", "encoding": "latin-1"})
    assert changed == ImportOptions(name="homes", target="price", skip_bad=True, encoding="latin-1")
    assert base.name == "houses"


def test_errors_name_the_option_and_what_is_valid() -> None:
    with pytest.raises(SpecError) as caught:
        import_options(values={"name": "x", "kind": "pictures", "task": "ranking"})
    lines = str(caught.value).splitlines()
    assert lines[0].startswith("import options: kind: must be 'auto', 'table', 'images'")
    assert lines[0].endswith("(got 'pictures')")
    assert lines[1] == (
        "import options: task: must be 'classification' or 'regression' (got 'ranking')"
    )
    with pytest.raises(SpecError, match=r"import options: name: is required"):
        import_options(values={"target": "price"})
    with pytest.raises(SpecError, match=r"name: must have at most 100 characters"):
        import_options(values={"name": "n" * 101})
    with pytest.raises(SpecError, match=r"unknown key \(did you mean 'skip_bad'\?\)"):
        import_options(values={"name": "x", "skip_bads": True})
    with pytest.raises(SpecError, match=r"^cli: encoding: must have at most 40 characters"):
        import_options(values={"name": "x", "encoding": "e" * 41}, origin="cli")
