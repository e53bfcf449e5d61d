"""Registering packages as versions and resolving NAME[@VERSION]."""

from __future__ import annotations

import pytest

from athanor.errors import NotFound, UserError
from athanor.registry import package_path, parse_ref, register_package, resolve
from athanor.store import open_store


def test_parse_ref() -> None:
    assert parse_ref("mnist-cnn") == ("mnist-cnn", None)
    assert parse_ref("mnist-cnn@3") == ("mnist-cnn", 3)
    assert parse_ref("mnist-cnn@v2") == ("mnist-cnn", 2)
    assert parse_ref("m@latest") == ("m", None)
    for bad in ("m@0", "m@x", "bad name", "../etc"):
        with pytest.raises(UserError):
            parse_ref(bad)


def test_registering_twice_gives_versions_1_and_2(trained_digits) -> None:
    run, _ = trained_digits
    store = open_store()  # a fresh home
    first = register_package(store, "copy", run.package_dir, run_id=None)
    second = register_package(store, "copy", run.package_dir)
    assert (first.version, second.version) == (1, 2)
    assert first.content_hash == second.content_hash
    assert resolve(store, "copy").version == 2
    path = package_path(store, resolve(store, "copy@1"))
    assert path == store.artifacts.root.resolve() / "models" / "copy" / "v1"
    assert (path / "weights.safetensors").is_file()
    with pytest.raises(NotFound):
        resolve(store, "copy@3")
