"""Model packages as single zip files, and reading them back without trusting their paths.

A zip holds the package's four files at its root (or under one top folder, as a zipped
package folder does). Nothing else is accepted and nothing is extracted by the names the
archive gives: each known file is copied to a fixed name, with its size capped, so an archive
cannot write outside its folder.

Before anything is extracted, the zip's directory is checked: at most
:data:`MAX_ENTRIES` entries, a total uncompressed size within ``ATHANOR_MAX_ARCHIVE_MB`` and
the free space of the destination, and no member compressed more than :data:`MAX_RATIO` to 1
(weights hardly compress; a zip bomb compresses a thousandfold). A zip bomb is refused in
milliseconds, naming the member and the limit.
"""

from __future__ import annotations

import shutil
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from athanor.errors import DiskFullError, PackageIntegrityError, ResourceLimitError
from athanor.registry.package import CARD, GRAPH, MANIFEST, METADATA, WEIGHTS, package_files
from athanor.spec.limits import ENVIRONMENT, current_limits
from athanor.store.disk_space import disk_full_as_error

PACKAGE_FILES = (WEIGHTS, METADATA, CARD, MANIFEST)
OPTIONAL_FILES = (GRAPH,)
"""Files a package holds only in some versions (the INT8 graph)."""
MAX_ENTRIES = 64
"""Entries (files and folders) in a package zip: it holds four files."""
MAX_RATIO = 200
"""Uncompressed / compressed size of one member above which it is refused as a bomb."""
RATIO_FLOOR = 1024**2
"""Members smaller than this are not checked for their ratio (tiny files compress well)."""


class ArchiveTooLarge(ResourceLimitError, PackageIntegrityError):
    """A zip whose directory claims too much: names the member, its size and the limit."""


def write_package_zip(folder: Path, destination: Path) -> None:
    """Write the package in ``folder`` as the zip file ``destination``."""
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in package_files(folder):
            archive.write(folder / name, arcname=name)


def extract_package_zip(source: Path, folder: Path) -> None:
    """Copy the package files of the zip ``source`` into the empty ``folder``.

    Raises:
        PackageIntegrityError: not a zip, an unexpected member, a missing or oversized file.
    """
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise PackageIntegrityError(f"{source}: not a readable zip file ({exc})") from None
    with archive:
        check_zip_directory(source, archive.infolist(), folder)
        members: dict[str, zipfile.ZipInfo] = {}
        tops: set[str] = set()
        for info in archive.infolist():
            if info.is_dir():
                continue
            parts = PurePosixPath(info.filename.replace("\\", "/")).parts
            if len(parts) == 2:
                tops.add(parts[0])
            known = parts[-1] in PACKAGE_FILES or parts[-1] in OPTIONAL_FILES
            if len(parts) not in (1, 2) or not known or ".." in parts:
                raise PackageIntegrityError(
                    f"{source}: unexpected member '{info.filename}'; a package zip holds only "
                    + ", ".join(PACKAGE_FILES)
                    + f" (and {', '.join(OPTIONAL_FILES)} in an INT8 version)"
                )
            if parts[-1] in members:
                raise PackageIntegrityError(f"{source}: '{parts[-1]}' appears twice")
            members[parts[-1]] = info
        if len(tops) > 1:
            raise PackageIntegrityError(f"{source}: files under several folders: {sorted(tops)}")
        for name in (*PACKAGE_FILES, *OPTIONAL_FILES):
            info = members.get(name)
            if info is None and name in OPTIONAL_FILES:
                continue
            if info is None:
                raise PackageIntegrityError(f"{source}: '{name}' is missing from the package")
            try:
                with (
                    disk_full_as_error(folder / name),
                    archive.open(info) as reader,
                    (folder / name).open("wb") as writer,
                ):
                    copied = _copy_capped(reader, writer, info.file_size, f"{source}: '{name}'")
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
                raise PackageIntegrityError(f"{source}: '{name}' is corrupt ({exc})") from None
            if copied != info.file_size:
                raise PackageIntegrityError(f"{source}: '{name}' is truncated or corrupt")


def check_zip_directory(source: Path, entries: list[zipfile.ZipInfo], folder: Path) -> None:
    """Refuse a zip by what its directory claims, before anything is extracted.

    Raises:
        ArchiveTooLarge: too many entries, a member compressed more than :data:`MAX_RATIO`
            to 1, or a total uncompressed size above ``ATHANOR_MAX_ARCHIVE_MB``.
        DiskFullError: the total does not fit in the free space of ``folder``'s disk.
    """
    if len(entries) > MAX_ENTRIES:
        raise ArchiveTooLarge(
            f"{source}: {len(entries):,} entries; a package zip holds four files "
            f"(at most {MAX_ENTRIES} entries)"
        )
    for info in entries:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
            raise ArchiveTooLarge(
                f"{source}: '{info.filename}' expands {ratio:,.0f} times "
                f"({info.compress_size:,} to {info.file_size:,} bytes), more than the "
                f"{MAX_RATIO} times a package file may (a zip bomb?)"
            )
    total = sum(info.file_size for info in entries)
    limit = current_limits().max_archive_bytes
    if total > limit:
        raise ArchiveTooLarge(
            f"{source}: its files take {total:,} bytes uncompressed, more than the limit of "
            f"{limit:,} ({ENVIRONMENT['max_archive_mb']})"
        )
    free = shutil.disk_usage(folder).free
    if total > free:
        raise DiskFullError(
            f"{source}: its files take {total:,} bytes uncompressed; {folder} has "
            f"{free:,} bytes free"
        )


def _copy_capped(reader, writer, limit: int, what: str) -> int:  # type: ignore[no-untyped-def]
    copied = 0
    while chunk := reader.read(1 << 20):
        copied += len(chunk)
        if copied > limit:
            raise PackageIntegrityError(f"{what} is larger than the {limit:,} bytes it claims")
        writer.write(chunk)
    return copied


def copy_package(folder: Path, destination: Path) -> None:
    """Copy the package files of ``folder`` (and nothing else) into a new folder."""
    destination.mkdir()
    for name in package_files(folder):
        shutil.copy2(folder / name, destination / name)
