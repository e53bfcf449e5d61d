"""Model packages as single zip files, and reading them back without trusting their paths.

A zip holds the package's four files at its root (or under one top folder, as a zipped
package folder does). Nothing else is accepted and nothing is extracted by the names the
archive gives: each known file is copied to a fixed name, with its size capped, so an archive
cannot write outside its folder or fill the disk.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path, PurePosixPath

from athanor.errors import PackageIntegrityError
from athanor.registry.package import CARD, MANIFEST, METADATA, WEIGHTS

PACKAGE_FILES = (WEIGHTS, METADATA, CARD, MANIFEST)
MAX_FILE_BYTES = 16 * 1024**3  # far above any model a package holds, far below a zip bomb


def write_package_zip(folder: Path, destination: Path) -> None:
    """Write the package in ``folder`` as the zip file ``destination``."""
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in PACKAGE_FILES:
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
        members: dict[str, zipfile.ZipInfo] = {}
        tops: set[str] = set()
        for info in archive.infolist():
            if info.is_dir():
                continue
            parts = PurePosixPath(info.filename.replace("\\", "/")).parts
            if len(parts) == 2:
                tops.add(parts[0])
            if len(parts) not in (1, 2) or parts[-1] not in PACKAGE_FILES or ".." in parts:
                raise PackageIntegrityError(
                    f"{source}: unexpected member '{info.filename}'; a package zip holds only "
                    + ", ".join(PACKAGE_FILES)
                )
            if parts[-1] in members:
                raise PackageIntegrityError(f"{source}: '{parts[-1]}' appears twice")
            members[parts[-1]] = info
        if len(tops) > 1:
            raise PackageIntegrityError(f"{source}: files under several folders: {sorted(tops)}")
        for name in PACKAGE_FILES:
            info = members.get(name)
            if info is None:
                raise PackageIntegrityError(f"{source}: '{name}' is missing from the package")
            if info.file_size > MAX_FILE_BYTES:
                raise PackageIntegrityError(f"{source}: '{name}' is too large")
            with archive.open(info) as reader, (folder / name).open("wb") as writer:
                copied = _copy_capped(reader, writer, MAX_FILE_BYTES)
            if copied != info.file_size:
                raise PackageIntegrityError(f"{source}: '{name}' is truncated or corrupt")


def _copy_capped(reader, writer, limit: int) -> int:  # type: ignore[no-untyped-def]
    copied = 0
    while chunk := reader.read(1 << 20):
        copied += len(chunk)
        if copied > limit:
            raise PackageIntegrityError("a package file is larger than it claims")
        writer.write(chunk)
    return copied


def copy_package(folder: Path, destination: Path) -> None:
    """Copy the package files of ``folder`` (and nothing else) into a new folder."""
    destination.mkdir()
    for name in PACKAGE_FILES:
        shutil.copy2(folder / name, destination / name)
