"""The artifact store: a local folder of run outputs and model packages, and optionally a bucket.

Everything is written into a staging folder first and moved into place in one rename, so a
crash or an error never leaves a half-written artifact where readers look.

With ``ATHANOR_ARTIFACTS_URL=s3://bucket/prefix`` the local folder is a cache of the bucket:
writes go there first and are then published (:meth:`ArtifactStore.publish`, manifest last);
a machine that lacks something fetches it (:meth:`ArtifactStore.fetch`). Without a URL these
calls cost nothing.
"""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from athanor.store.disk_space import disk_full_as_error

if TYPE_CHECKING:
    from athanor.store.bucket import Bucket


class ArtifactStore:
    """Paths under ``root`` for runs and model versions, and atomic publication.

    Args:
        root: the local artifact folder (the cache, when there is a bucket).
        bucket: the S3-compatible bucket the folder is published to (default: none).
    """

    def __init__(self, root: Path, bucket: Bucket | None = None) -> None:
        self.root = root
        self.bucket = bucket

    @property
    def remote_url(self) -> str | None:
        """The bucket's ``s3://`` URL, or None when artifacts are only local."""
        return self.bucket.url if self.bucket is not None else None

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

    def published_run_ids(self) -> list[int]:
        """The ids of the run folders in the bucket, ascending (one listing; none without
        a bucket)."""
        if self.bucket is None:
            return []
        return sorted(int(name) for name in self.bucket.folder_names("runs") if name.isdigit())

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
    def staging(self, destination: Path, *, publish: bool = True) -> Iterator[Path]:
        """Yield an empty folder; on success it becomes ``destination`` in one rename.

        On any exception the folder is removed and ``destination`` is untouched. With a
        bucket, ``destination`` is then published (unless ``publish`` is false: the caller
        publishes it once it knows the path is its own); if that fails it is removed again.

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
            if publish and self.bucket is not None:
                try:
                    self.publish(destination)
                except BaseException:
                    # published or absent, as without a bucket: never only here
                    shutil.rmtree(destination, ignore_errors=True)
                    raise
        finally:
            if folder.exists():
                shutil.rmtree(folder, ignore_errors=True)

    # --- the bucket -------------------------------------------------------------------

    def publish(self, path: Path) -> None:
        """Publish a folder (its files, then its manifest) or a file under ``root``.

        A file is overwritten in place (a growing log); a folder whose content changed is
        withdrawn (manifest first) and published again. A no-op without a bucket.
        """
        if self.bucket is None:
            return
        relative = self.relative(path)
        if path.is_dir():
            self.bucket.publish_folder(path, relative)
        else:
            self.bucket.publish_file(path, relative)

    def fetch(self, path: Path) -> bool:
        """Make the folder or file ``path`` present here if the bucket has it.

        A folder is fetched only when completely published, and only after each file was
        checked against its manifest. Returns whether ``path`` exists afterwards (without a
        bucket: whether it exists).

        Raises:
            ArtifactIntegrityError: the bucket's copy differs from its manifest.
        """
        if path.exists() or self.bucket is None:
            return path.exists()
        relative = self.relative(path)
        staging_root = self.root / ".staging"
        with disk_full_as_error(path):
            return self.bucket.fetch_folder(relative, path, staging_root) or self.bucket.fetch_file(
                relative, path, staging_root
            )

    def refresh(self, path: Path) -> bool:
        """Bring the growing file ``path`` (a log another machine publishes) up to date from
        the bucket: downloaded when the bucket's copy differs in size. Returns whether it
        exists here afterwards (without a bucket: whether it exists)."""
        if self.bucket is None:
            return path.exists()
        with disk_full_as_error(path):
            return self.bucket.refresh_file(self.relative(path), path, self.root / ".staging")

    def local(self, relative: str) -> Path:
        """:meth:`resolve`, fetching the path from the bucket when this machine lacks it."""
        path = self.resolve(relative)
        self.fetch(path)
        return path

    def delete(self, path: Path) -> None:
        """Remove the folder or file ``path`` here and from the bucket (nothing happens
        where it is absent).

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
        if self.bucket is not None:
            self.bucket.delete(target.relative_to(root).as_posix())

    def publish_run(self, run_id: int) -> None:
        """Publish a run's outputs: each file and folder of its folder but its checkpoints
        (published one by one as they are written). A no-op without a bucket."""
        run_dir = self.run_dir(run_id)
        if self.bucket is None or not run_dir.is_dir():
            return
        for entry in sorted(run_dir.iterdir()):
            if entry.name != "checkpoints" and not entry.name.startswith("."):
                self.publish(entry)

    def published_folders(self, path: Path) -> list[Path]:
        """The completely published folders directly under ``path`` (none without a bucket)."""
        if self.bucket is None:
            return []
        return [path / name for name in self.bucket.complete_folders(self.relative(path))]

    def size_bytes(self) -> int:
        """Bytes used by every stored artifact."""
        if not self.root.exists():
            return 0
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())
