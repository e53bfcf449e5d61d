"""A write that runs out of room becomes a :class:`~athanor.errors.DiskFullError` naming the
file and the space left, instead of an ``OSError`` traceback.

Writers of artifacts (dataset versions, checkpoints, packages, exports) write into a staging
file or folder and rename it into place; wrapped in :func:`disk_full_as_error`, a full disk
(``ENOSPC``), an exhausted quota (``EDQUOT``) or the per-process file size limit (``EFBIG``)
fails with the name of what was being written, and the caller's staging cleanup leaves
nothing half-written.
"""

from __future__ import annotations

import errno
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from athanor.errors import DiskFullError

NO_ROOM = {
    errno.ENOSPC: "no space left on the disk",
    errno.EDQUOT: "the disk quota is exhausted",
    errno.EFBIG: "the file would be larger than this system allows",
}


SHORT_WRITE = re.compile(r"\d+ requested and \d+ written")
"""NumPy's ``tofile``/``save`` report a full disk as a short write, without an errno."""
RUST_OS_ERROR = re.compile(r"\(os error (\d+)\)")
"""How Rust's ``io::Error`` names the errno (safetensors' ``SafetensorError``)."""


def free_bytes(path: Path) -> int | None:
    """Free bytes on the disk holding ``path`` (or its nearest existing parent)."""
    for candidate in (Path(path), *Path(path).parents):
        if candidate.exists():
            try:
                return shutil.disk_usage(candidate).free
            except OSError:
                return None
    return None


def disk_full_error(exc: BaseException, target: Path) -> DiskFullError | None:
    """The :class:`DiskFullError` for ``exc`` raised while writing ``target``, or ``None``
    when ``exc`` is not about room to write.

    Besides ``OSError``, it reads the two other ways writers report a full disk: NumPy's short
    write and the ``(os error N)`` of libraries written in Rust (safetensors).
    """
    number = _errno_of(exc)
    reason = NO_ROOM.get(number or 0)
    if reason is None and isinstance(exc, OSError) and SHORT_WRITE.fullmatch(str(exc)):
        reason = f"the write stopped short ({exc}): no room left"
    if reason is None:
        return None
    filename = getattr(exc, "filename", None)
    written = Path(filename) if filename else target
    free = free_bytes(target)
    room = f"{format_bytes(free)} free on its disk" if free is not None else "free space unknown"
    what = f" (for {target})" if written != target else ""
    return DiskFullError(
        f"{written}{what}: cannot write: {reason} ({room}); nothing was kept. Free some space "
        "(e.g. delete old runs or models) or set ATHANOR_HOME to a larger disk"
    )


def _errno_of(exc: BaseException) -> int | None:
    if isinstance(exc, OSError):
        return exc.errno
    found = RUST_OS_ERROR.search(str(exc))
    return int(found.group(1)) if found else None


def file_size_limit() -> int | None:
    """The largest file this process may write (``RLIMIT_FSIZE``), or ``None`` if unlimited."""
    try:
        import resource
    except ImportError:  # not on POSIX
        return None
    soft, _hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    return None if soft == resource.RLIM_INFINITY else int(soft)


def check_room(target: Path, needed: int) -> None:
    """Refuse to start writing ``needed`` bytes to ``target`` when they cannot fit: for
    writers that cannot be stopped cleanly once they run out of room (PyTorch's zip writer
    aborts the process).

    Raises:
        DiskFullError: naming ``target``, the bytes needed and the room there is.
    """
    free = free_bytes(target)
    if free is not None and needed > free:
        raise DiskFullError(
            f"{target}: cannot write about {format_bytes(needed)}: {format_bytes(free)} free "
            "on its disk; free some space or write it elsewhere"
        )
    largest = file_size_limit()
    if largest is not None and needed > largest:
        raise DiskFullError(
            f"{target}: cannot write about {format_bytes(needed)}: this process may write "
            f"files of at most {format_bytes(largest)} (ulimit -f)"
        )


@contextmanager
def disk_full_as_error(target: Path) -> Iterator[None]:
    """Turn an out-of-room ``OSError`` raised in the block into a :class:`DiskFullError`.

    Args:
        target: what the block writes (named when the error does not name a file).

    Raises:
        DiskFullError: naming the file, why there is no room and the space free.
    """
    try:
        yield
    except Exception as exc:  # only errors about room are replaced; the rest go on unchanged
        error = disk_full_error(exc, Path(target))
        if error is None:
            raise
        raise error from exc


def format_bytes(size: int) -> str:
    """``1536`` -> ``1.5 KB`` (decimal units, as disk sizes are sold)."""
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"
