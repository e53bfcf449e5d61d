"""The artifact store: a local folder of run outputs and model packages.

Everything is written into a staging folder first and moved into place in one rename, so a
crash or an error never leaves a half-written artifact where readers look.
"""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from athanor.store.disk_space import disk_full_as_error


class ArtifactStore:
    """Paths under ``root`` for runs and model versions, and atomic publication."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def run_dir(self, run_id: int) -> Path:
        return self.root / "runs" / str(run_id)

    def run_folder_ids(self) -> list[int]:
        """The ids of the run folders on disk, ascending (one directory listing)."""
        try:
            entries = os.scandir(self.root / "runs")
        except (FileNotFoundError, NotADirectoryError):
            return []
        with entries:
            return sorted(int(e.name) for e in entries if e.name.isdigit() and e.is_dir())

    def model_dir(self, name: str, version: int) -> Path:
        return self.root / "models" / name / f"v{version}"

    def dataset_dir(self, content_hash: str) -> Path:
        """The folder of an imported dataset version, by its content hash."""
        return self.root / "datasets" / content_hash

    def resolve(self, relative: str) -> Path:
        """An absolute path for a stored relative path, refusing any escape from ``root``."""
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"artifact path {relative!r} leaves the artifact store")
        return path

    def relative(self, path: Path) -> str:
        return path.resolve().relative_to(self.root.resolve()).as_posix()

    @contextmanager
    def staging(self, destination: Path) -> Iterator[Path]:
        """Yield an empty folder; on success it becomes ``destination`` in one rename.

        On any exception the folder is removed and ``destination`` is untouched.

        Raises:
            FileExistsError: ``destination`` already exists.
            DiskFullError: the disk filled up while writing (naming the file and the space
                free); nothing is left behind.
        """
        staging_root = self.root / ".staging"
        folder = staging_root / uuid.uuid4().hex
        try:
            with disk_full_as_error(destination):
                staging_root.mkdir(parents=True, exist_ok=True)
                folder.mkdir()
                yield folder
                destination.parent.mkdir(parents=True, exist_ok=True)
                if destination.exists():
                    raise FileExistsError(f"{destination} already exists")
                try:
                    os.replace(folder, destination)
                except OSError as exc:
                    # another writer renamed its folder there since the check above
                    if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                        raise FileExistsError(f"{destination} already exists") from exc
                    raise
        finally:
            if folder.exists():
                shutil.rmtree(folder, ignore_errors=True)

    def delete(self, path: Path) -> None:
        """Remove a folder or a file under ``root`` (nothing happens when it is absent).

        Raises:
            ValueError: ``path`` is ``root`` itself or lies outside it (a link that leads out
                counts as outside).
        """
        root = self.root.resolve()
        target = (self.root / path).resolve() if not path.is_absolute() else path.resolve()
        if target == root or not target.is_relative_to(root):
            raise ValueError(f"{path} is not inside the artifact store {self.root}")
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)

    def size_bytes(self) -> int:
        """Bytes used by every stored artifact."""
        if not self.root.exists():
            return 0
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())
