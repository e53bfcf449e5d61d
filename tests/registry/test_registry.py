"""Registering packages as versions; resolving NAME[@VERSION|@ALIAS]; deleting; importing."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import torch

from athanor.errors import NotFound, PackageIntegrityError, UserError
from athanor.registry import package_path, parse_ref, register_package, resolve
from athanor.registry.archive import write_package_zip
from athanor.registry.package import load_package, write_package
from athanor.registry.registry import check_alias_name, delete_versions, import_package
from athanor.store import open_store


def test_parse_ref() -> None:
    assert parse_ref("mnist-cnn") == ("mnist-cnn", None)
    assert parse_ref("mnist-cnn@3") == ("mnist-cnn", 3)
    assert parse_ref("mnist-cnn@v2") == ("mnist-cnn", 2)
    assert parse_ref("m@latest") == ("m", None)
    assert parse_ref("m@production") == ("m", "production")
    assert parse_ref("m@canary-2") == ("m", "canary-2")
    for bad in ("m@0", "m@v0", "m@-x", "m@a b", "bad name", "../etc", "m@../x"):
        with pytest.raises(UserError):
            parse_ref(bad)
    for bad in ("latest", "3", "v3", "-x", ""):
        with pytest.raises(UserError, match="reserved"):
            check_alias_name(bad)


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
    store.models.set_alias("copy", "production", 1)
    assert resolve(store, "copy@production").version == 1
    with pytest.raises(NotFound, match="has no alias 'staging'; aliases: production -> 1"):
        resolve(store, "copy@staging")


def test_deleting_guards_aliases_and_removes_packages(trained_digits) -> None:
    run, _ = trained_digits
    store = open_store()
    for _ in range(3):
        register_package(store, "m", run.package_dir)
    store.models.set_alias("m", "production", 2)
    with pytest.raises(UserError, match=r"aliases point at .*production -> m@2.*--force"):
        delete_versions(store, "m@production")
    folder = package_path(store, resolve(store, "m@2"))
    assert [r.ref for r in delete_versions(store, "m@2", force=True)] == ["m@2"]
    assert not folder.exists()
    assert store.models.aliases("m") == {}
    assert [r.version for r in store.models.versions("m")] == [3, 1]
    assert register_package(store, "m", run.package_dir).version == 4
    deleted = delete_versions(store, "m")
    assert sorted(r.version for r in deleted) == [1, 3, 4]
    register_package(store, "empty", run.package_dir)
    delete_versions(store, "empty@1")
    assert [(m.name, m.versions) for m in store.models.list()] == [("empty", 0)]
    assert delete_versions(store, "empty") == []  # a name left without versions can go too
    assert store.models.list() == []
    assert not (store.artifacts.root / "models" / "m" / "v1").exists()
    with pytest.raises(NotFound):
        resolve(store, "m")


def test_import_verifies_the_package_and_its_expected_hash(trained_digits, tmp_path: Path) -> None:
    run, _ = trained_digits
    store = open_store()
    archive = tmp_path / "digits.zip"
    write_package_zip(run.package_dir, archive)
    content_hash = run.run.summary["package_hash"]
    record = import_package(store, archive, expected_hash=content_hash)
    assert record.ref == "digits-cnn@1"  # the spec's name
    assert record.tags == {"imported_from": "digits.zip"}
    assert record.content_hash == content_hash
    with pytest.raises(PackageIntegrityError, match="does not match the registered"):
        import_package(store, archive, "other", expected_hash="0" * 64)
    altered = tmp_path / "altered"
    altered.mkdir()
    for file in run.package_dir.iterdir():
        (altered / file.name).write_bytes(file.read_bytes())
    metadata = json.loads((altered / "model.json").read_text())
    metadata["schema"]["classes"][0] = "nine"
    (altered / "model.json").write_text(json.dumps(metadata))
    with pytest.raises(PackageIntegrityError, match="model.json: content does not match"):
        import_package(store, altered, "other")
    assert [m.name for m in store.models.list()] == ["digits-cnn"]
    with pytest.raises(UserError, match="no such file"):
        import_package(store, tmp_path / "missing.zip")


def rewritten(source: Path, folder: Path, **changes: object) -> Path:
    """The package in ``source`` written again (with a matching manifest) with ``changes``."""
    package = load_package(source)
    metadata = package.metadata
    values = {
        "state_dict": package.state_dict,
        "spec": metadata["spec"],
        "schema": metadata["schema"],
        "preprocessing": metadata["preprocessing"],
        "metrics": metadata["metrics"],
        "lineage": metadata["lineage"],
        "card": (source / "README.md").read_text(),
        **changes,
    }
    folder.mkdir()
    write_package(folder, **values)  # type: ignore[arg-type]
    return folder


def test_a_package_that_cannot_predict_is_refused_at_import(trained_digits, tmp_path: Path) -> None:
    run, _ = trained_digits
    store = open_store()
    weights = load_package(run.package_dir).state_dict
    first = sorted(weights)[0]
    wrong = {**weights, first: torch.zeros(*weights[first].shape, 2)}
    wrong_shape = rewritten(run.package_dir, tmp_path / "wrong-shape", state_dict=wrong)
    archive = tmp_path / "wrong-shape.zip"
    write_package_zip(wrong_shape, archive)
    with pytest.raises(
        PackageIntegrityError, match=f"weights.safetensors .*size mismatch for {first}"
    ):
        import_package(store, archive)
    unknown_step = rewritten(
        run.package_dir, tmp_path / "unknown-step", preprocessing=[{"type": "teleport"}]
    )
    with pytest.raises(
        PackageIntegrityError,
        match="model.json key 'preprocessing'.*unknown preprocessing step 'teleport'",
    ):
        import_package(store, unknown_step, "digits-cnn")
    assert store.models.list() == []
    assert not list((store.artifacts.root / ".staging").iterdir())
    assert not (store.artifacts.root / "models").exists() or not any(
        (store.artifacts.root / "models").rglob("*.safetensors")
    )
    # The untouched package imports.
    assert import_package(store, run.package_dir).ref == "digits-cnn@1"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_parallel_registrations_of_one_model_get_unique_gapless_numbers(
    trained_digits, backend: str
) -> None:
    run, _ = trained_digits
    store = open_store()
    registrations, threads = 3, 5
    barrier = threading.Barrier(threads)
    numbers: list[int] = []
    errors: list[BaseException] = []

    def register() -> None:
        barrier.wait()
        try:
            for _ in range(registrations):
                numbers.append(register_package(store, "shared", run.package_dir).version)
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=register) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not errors, errors
    total = registrations * threads
    assert sorted(numbers) == list(range(1, total + 1))
    assert [v.version for v in store.models.versions("shared")] == list(range(total, 0, -1))
    assert store.models.next_version("shared") == total + 1
    folders = sorted(p.name for p in (store.artifacts.root / "models" / "shared").iterdir())
    assert folders == sorted(f"v{n}" for n in range(1, total + 1))
