"""The artifact store publishes folders atomically and refuses paths that escape it."""

from __future__ import annotations

from pathlib import Path

import pytest

from athanor.store.artifacts import ArtifactStore


def test_staging_publishes_on_success(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "artifacts")
    destination = store.model_dir("m", 1)
    with store.staging(destination) as folder:
        (folder / "a.txt").write_text("x")
        assert not destination.exists()
    assert (destination / "a.txt").read_text() == "x"
    assert store.relative(destination) == "models/m/v1"
    assert store.size_bytes() == 1
    assert list((store.root / ".staging").iterdir()) == []


def test_staging_leaves_nothing_on_failure(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "artifacts")
    destination = store.run_dir(3)
    with pytest.raises(RuntimeError), store.staging(destination) as folder:
        (folder / "half.bin").write_bytes(b"\0" * 10)
        raise RuntimeError("crash while writing")
    assert not destination.exists()
    assert list((store.root / ".staging").iterdir()) == []


def test_existing_destination_is_not_overwritten(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "artifacts")
    destination = store.run_dir(1)
    destination.mkdir(parents=True)
    with pytest.raises(FileExistsError), store.staging(destination):
        pass


def test_resolve_refuses_escapes(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "artifacts")
    assert store.resolve("models/m/v1") == (tmp_path / "artifacts/models/m/v1").resolve()
    with pytest.raises(ValueError, match="leaves the artifact store"):
        store.resolve("../../etc/passwd")


def test_delete_removes_a_folder_or_a_file_under_root_and_refuses_anything_else(
    tmp_path: Path,
) -> None:
    store = ArtifactStore(tmp_path / "artifacts")
    folder = store.run_dir(7)
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "checkpoints" / "step-1.pt").write_bytes(b"w")
    (folder / "log.txt").write_text("x")
    store.delete(folder / "log.txt")
    assert not (folder / "log.txt").exists() and folder.exists()
    store.delete(folder)
    assert not folder.exists() and store.root.exists()
    store.delete(folder)  # already gone: nothing to do

    outside = tmp_path / "keep.txt"
    outside.write_text("mine")
    (store.root / "runs").mkdir(exist_ok=True)
    (store.root / "runs" / "link").symlink_to(tmp_path)
    for path in (outside, store.root, store.root / ".." / "keep.txt", store.root / "runs" / "link"):
        with pytest.raises(ValueError, match="is not inside the artifact store"):
            store.delete(path)
    assert outside.read_text() == "mine"
