"""Dataset files: found in a mirror or the cache, else downloaded, always checksum-verified.

Lookup order for a file ``name``: each folder of ``ATHANOR_DATA_MIRROR`` (the file itself or
anywhere below it), then ``$ATHANOR_HOME/cache/datasets/``, then each official URL in turn.
Downloads resume from a partial file (HTTP Range) and are verified before they are kept.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import os
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from athanor.errors import DatasetUnavailable
from athanor.settings import Settings, current_settings

ProgressHook = Callable[[int, int | None], None]
"""Called with (bytes so far, total bytes or None) while downloading."""

_CHUNK = 1 << 20


@dataclass(frozen=True)
class RemoteFile:
    """A dataset file with its official locations and checksum.

    ``digest`` is a SHA-256 of the content after gunzip when ``gzipped`` (mirrors often
    re-compress files, which changes the archive's bytes but not its content). Publishers
    that give an MD5 of the archive itself (Fashion-MNIST, CIFAR-10) are checked against
    exactly that: ``algorithm="md5"`` with ``whole_file=True``.
    """

    name: str
    urls: tuple[str, ...]
    digest: str
    gzipped: bool = False
    algorithm: str = "sha256"
    whole_file: bool = False
    """Whether ``digest`` is of the file's bytes as published (else of its content)."""
    folder: str = ""
    """Subfolder of the download cache, for files whose names other datasets share."""
    digest_is_prefix: bool = False
    """Whether ``digest`` is only the start of the hash (all some publishers pin, e.g. the
    8 hex digits in torchvision's weight file names)."""

    @property
    def checksum_name(self) -> str:
        return "MD5" if self.algorithm == "md5" else "SHA-256"


def _digest(path: Path, gzipped: bool, algorithm: str = "sha256") -> str:
    sha = hashlib.new(algorithm, usedforsecurity=False)
    opener = gzip.open if gzipped else open
    try:
        with opener(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                sha.update(chunk)
    except (OSError, EOFError, zlib.error) as exc:  # zlib.error: corrupt deflate data
        return f"unreadable: {exc}"
    return sha.hexdigest()


def _verified(path: Path, remote: RemoteFile, settings: Settings) -> bool:
    """Whether ``path`` holds ``remote``'s content; remembered per (path, size, mtime)."""
    record = settings.cache_dir / "verified.json"
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    try:
        known = json.loads(record.read_text())
    except (OSError, ValueError):
        known = {}
    if known.get(key) == remote.digest:
        return True
    gzipped = remote.gzipped and not remote.whole_file
    computed = _digest(path, gzipped, remote.algorithm)
    if computed != remote.digest and not (
        remote.digest_is_prefix and computed.startswith(remote.digest)
    ):
        return False
    known[key] = remote.digest
    try:
        record.parent.mkdir(parents=True, exist_ok=True)
        temporary = record.with_name(f"{record.name}.{os.getpid()}")
        temporary.write_text(json.dumps(known, indent=0))
        os.replace(temporary, record)
    except OSError:
        pass  # a read-only home only costs a re-hash next time
    return True


def _in_mirrors(name: str, mirrors: tuple[Path, ...]) -> list[Path]:
    found: list[Path] = []
    for mirror in mirrors:
        direct = mirror / name
        if direct.is_file():
            found.append(direct)
        elif mirror.is_dir():
            found.extend(sorted(p for p in mirror.rglob(name) if p.is_file()))
    return found


def fetch(
    remote: RemoteFile,
    *,
    settings: Settings | None = None,
    progress: ProgressHook | None = None,
    timeout: float = 30.0,
) -> Path:
    """A local, verified copy of ``remote``.

    Raises:
        DatasetUnavailable: no verified copy in the mirrors or cache, and no URL delivered one;
            the message lists what was tried.
    """
    settings = settings or current_settings()
    tried: list[str] = []
    for candidate in _in_mirrors(remote.name, settings.data_mirrors):
        if _verified(candidate, remote, settings):
            return candidate
        tried.append(
            f"{candidate}: content does not match its {remote.checksum_name} "
            f"{remote.digest[:16]}..."
        )
    if not settings.data_mirrors:
        tried.append("ATHANOR_DATA_MIRROR is not set")
    elif not _in_mirrors(remote.name, settings.data_mirrors):
        tried.append(
            f"not in ATHANOR_DATA_MIRROR ({os.pathsep.join(map(str, settings.data_mirrors))})"
        )

    cache_dir = settings.cache_dir / "datasets" / remote.folder
    cached = cache_dir / remote.name
    if cached.is_file():
        if _verified(cached, remote, settings):
            return cached
        cached.unlink()
        tried.append(f"{cached}: corrupt, removed")

    if settings.offline:
        tried.append("downloads are disabled (ATHANOR_OFFLINE is set)")
    cache_dir.mkdir(parents=True, exist_ok=True)
    for url in () if settings.offline else remote.urls:
        try:
            _download(url, cached, progress, timeout)
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            tried.append(f"{url}: {getattr(exc, 'reason', exc)}")
            continue
        if _verified(cached, remote, settings):
            return cached
        cached.unlink()
        tried.append(f"{url}: checksum mismatch, discarded")
    raise DatasetUnavailable(
        f"cannot get {remote.name}: "
        + "; ".join(tried)
        + ". Put the file in a folder named by ATHANOR_DATA_MIRROR or connect to the internet."
    )


def _download(url: str, destination: Path, progress: ProgressHook | None, timeout: float) -> None:
    """Download ``url`` to ``destination``, resuming ``destination.part`` if present."""
    partial = destination.with_name(destination.name + ".part")
    have = partial.stat().st_size if partial.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "athanor"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        if have and response.status != 206:
            have = 0  # the server ignored the range: start over
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        with open(partial, "ab" if have else "wb") as out:
            done = have
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                out.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
    if total is not None and partial.stat().st_size != total:
        raise OSError(f"incomplete download ({partial.stat().st_size} of {total} bytes)")
    os.replace(partial, destination)


def read_bytes(path: Path, gzipped: bool) -> bytes:
    """The (decompressed) content of a fetched file."""
    if gzipped:
        with gzip.open(path, "rb") as handle:
            return handle.read()
    return path.read_bytes()
