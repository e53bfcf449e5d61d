"""Upload folders: files sent to the API land inside ``$ATHANOR_HOME/uploads/<id>/`` only.

Every path a client names is checked before any file is touched: relative, POSIX
separators, no ``..``, no empty or hidden parts, no control characters, no drive letters,
bounded length and depth. Files are written to a temporary name and renamed into place
(a rename never follows a symbolic link), and a folder holding a symbolic link is refused
both for writing and for importing.

The size limit of an upload holds across parallel requests: each write reserves its bytes,
chunk by chunk, under one lock, against the upload's committed files plus every other
write's reservation; a write that is refused or cut releases what it reserved.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from athanor.errors import NotFound, PayloadTooLarge, UserError

UPLOAD_ID_PATTERN = r"^[0-9a-f]{32}$"
MAX_NAME = 63  # characters of one name: at most 252 bytes in UTF-8, within every file system
MAX_DEPTH = 16
MAX_PATH_LENGTH = MAX_DEPTH * (MAX_NAME + 1)
_PART = rf"[^\x00-\x1f\x7f\\/.][^\x00-\x1f\x7f\\/]{{0,{MAX_NAME - 1}}}"
UPLOAD_PATH_PATTERN = rf"^{_PART}(/{_PART}){{0,{MAX_DEPTH - 1}}}$"
"""The paths :func:`safe_relative_path` accepts (for the API's schema)."""


class UploadTooLarge(PayloadTooLarge):
    """An upload beyond its size limit."""

    code = "upload_too_large"


def safe_relative_path(text: str, *, allow_root: bool = False) -> PurePosixPath:
    """``text`` as a path that stays inside the folder it is relative to.

    Args:
        text: e.g. ``images/cat/1.png``.
        allow_root: accept ``.`` (the folder itself).

    Raises:
        UserError: naming what is wrong with the path.
    """
    if allow_root and text in (".", "./", ""):
        return PurePosixPath(".")
    if not text or len(text) > MAX_PATH_LENGTH:
        raise UserError(f"path {text[:80]!r}: give 1 to {MAX_PATH_LENGTH} characters")
    if any(ord(ch) < 32 or ch == "\x7f" for ch in text) or "\\" in text:
        raise UserError(
            f"path {text[:80]!r}: control characters and backslashes are not allowed; "
            "separate folders with '/'"
        )
    if text.startswith("/"):
        raise UserError(f"path {text[:80]!r}: must be relative to the upload, not absolute")
    raw_parts = text.split("/")
    if "" in raw_parts:
        raise UserError(f"path {text[:80]!r}: empty names ('//', or '/' at the end)")
    path = PurePosixPath(text)
    parts = path.parts
    if len(parts) > MAX_DEPTH:
        raise UserError(f"path {text[:80]!r}: at most {MAX_DEPTH} folders deep")
    for part in parts:
        if part in ("..", "."):
            raise UserError(f"path {text[:80]!r}: '..' and '.' parts are not allowed")
        if part.startswith("."):
            raise UserError(f"path {text[:80]!r}: hidden names (starting with '.') are refused")
        if len(part) > MAX_NAME:
            raise UserError(f"path {text[:80]!r}: a name is longer than {MAX_NAME} characters")
    if not re.fullmatch(UPLOAD_PATH_PATTERN, text):  # the schema's rule, in case of doubt
        raise UserError(f"path {text[:80]!r}: not a valid path inside an upload")
    return path


def _inside(root: Path, relative: PurePosixPath) -> Path:
    """``root / relative``, refusing symbolic links on the way and any escape from ``root``."""
    current = root
    for part in relative.parts:
        if current.is_symlink():
            raise UserError(f"{relative}: the upload holds a symbolic link; it is refused")
        current = current / part
    if current.is_symlink():
        raise UserError(f"{relative}: the upload holds a symbolic link; it is refused")
    resolved = current.resolve()
    if resolved != root.resolve() and not resolved.is_relative_to(root.resolve()):
        raise UserError(f"{relative}: leaves the upload folder")
    return current


@dataclass
class _Usage:
    """The bytes of one upload while writes to it are under way."""

    committed: int
    """Bytes of its files on disk."""
    reserved: int = 0
    """Bytes received by writes not yet renamed into place."""
    writers: int = 0


class UploadArea:
    """The upload folders of one Athanor home.

    Args:
        root: ``$ATHANOR_HOME/uploads``.
        max_bytes: most bytes one upload may hold in all.
    """

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        # One lock for the accounting of every upload: its critical sections never wait on
        # I/O of a client, so the event loop and threads alike hold it only briefly.
        self._lock = threading.Lock()
        self._usage: dict[str, _Usage] = {}

    def _begin(self, upload_id: str) -> _Usage:
        with self._lock:
            usage = self._usage.get(upload_id)
            if usage is None:  # no write under way: the files on disk are the truth
                usage = self._usage[upload_id] = _Usage(self.size(upload_id))
            usage.writers += 1
            return usage

    def _reserve(self, usage: _Usage, count: int, replaced: int) -> bool:
        """Reserve ``count`` more bytes if the upload stays within its limit."""
        with self._lock:
            if usage.committed - replaced + usage.reserved + count > self.max_bytes:
                return False
            usage.reserved += count
            return True

    def _commit(self, usage: _Usage, temporary: Path, destination: Path, written: int) -> None:
        with self._lock:
            old = destination.stat().st_size if destination.is_file() else 0
            os.replace(temporary, destination)
            usage.committed += written - old
            usage.reserved -= written

    def _end(self, upload_id: str, usage: _Usage, unreleased: int) -> None:
        with self._lock:
            usage.reserved -= unreleased
            usage.writers -= 1
            if usage.writers == 0 and self._usage.get(upload_id) is usage:
                del self._usage[upload_id]

    def create(self) -> str:
        """A new, empty upload; returns its id."""
        upload_id = uuid.uuid4().hex
        (self.root / upload_id).mkdir(parents=True)
        return upload_id

    def folder(self, upload_id: str) -> Path:
        """The folder of an existing upload.

        Raises:
            NotFound: no such upload.
        """
        if len(upload_id) != 32 or any(ch not in "0123456789abcdef" for ch in upload_id):
            raise NotFound(
                f"upload {upload_id[:40]!r} does not exist",
                code="upload_not_found",
                params={"id": upload_id[:40]},
            )
        folder = self.root / upload_id
        if not folder.is_dir() or folder.is_symlink():
            raise NotFound(
                f"upload {upload_id} does not exist (create one with POST /v1/uploads)",
                code="upload_not_found",
                params={"id": upload_id},
            )
        return folder

    def files(self, upload_id: str) -> list[tuple[str, int]]:
        """``(relative path, size)`` of every file in the upload."""
        folder = self.folder(upload_id)
        found = []
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink() and not path.name.startswith("."):
                found.append((path.relative_to(folder).as_posix(), path.stat().st_size))
        return found

    def size(self, upload_id: str) -> int:
        """Bytes an upload holds."""
        return sum(size for _, size in self.files(upload_id))

    async def write(
        self,
        upload_id: str,
        path: str,
        chunks: AsyncIterator[bytes],
        cut: Callable[[], bool] | None = None,
    ) -> int:
        """Write a file from ``chunks`` at ``path`` in the upload (replacing one there).

        The bytes go to a hidden temporary file that is renamed into place at the end, so
        a cut connection leaves nothing behind; nor does a body that ``cut()`` says was cut
        short at the request size limit.

        Returns:
            The file's size.

        Raises:
            UserError: an unsafe path.
            UploadTooLarge: the upload would exceed its limit.
        """
        folder = self.folder(upload_id)
        relative = safe_relative_path(path)
        destination = _inside(folder, relative)
        if destination.is_dir():
            raise UserError(f"{relative}: is a folder of the upload")
        parent = destination.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise UserError(f"{relative}: a part of this path is a file of the upload") from None
        _inside(folder, relative)  # again: nothing on the way became a link meanwhile
        temporary = parent / f".upload-{uuid.uuid4().hex}"
        written = 0
        unreleased = 0  # bytes this write holds in the reservation
        usage = self._begin(upload_id)
        # The file this write replaces frees its bytes (measured now, as the limit's room).
        replaced = destination.stat().st_size if destination.is_file() else 0
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
            handle = os.fdopen(os.open(temporary, flags, 0o644), "wb")
            with handle:
                async for chunk in chunks:
                    if not self._reserve(usage, len(chunk), replaced):
                        raise UploadTooLarge(
                            f"{relative}: the upload would hold more than "
                            f"{self.max_bytes:,} bytes (the platform's --max-upload-mb)",
                            params={"file": str(relative), "limit": self.max_bytes},
                            field="path",
                        )
                    unreleased += len(chunk)
                    written += len(chunk)
                    handle.write(chunk)
            if not written:
                raise UserError(f"{relative}: the request body is empty; send the file's bytes")
            if cut is not None and cut():
                raise UploadTooLarge(
                    f"{relative}: the request body was cut at its size limit",
                    params={"file": str(relative), "limit": self.max_bytes},
                    field="path",
                )
            self._commit(usage, temporary, destination, written)
            unreleased = 0
        finally:
            self._end(upload_id, usage, unreleased)
            if temporary.exists():
                temporary.unlink()
        return written

    def source(self, upload_id: str, path: str) -> Path:
        """The file or folder ``path`` of an upload, ready to import.

        Raises:
            NotFound: no such upload or path in it.
            UserError: an unsafe path, or symbolic links in it.
        """
        folder = self.folder(upload_id)
        relative = safe_relative_path(path, allow_root=True)
        target = folder if relative == PurePosixPath(".") else _inside(folder, relative)
        if not target.exists():
            raise NotFound(f"{relative}: not in upload {upload_id}")
        if target.is_dir():
            for item in target.rglob("*"):
                if item.is_symlink():
                    raise UserError(
                        f"{item.relative_to(folder)}: a symbolic link in the upload; refused"
                    )
        return target

    def delete(self, upload_id: str) -> None:
        """Remove an upload and its files."""
        shutil.rmtree(self.folder(upload_id))
