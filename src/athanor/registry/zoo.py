"""Athanor's own zoo: model packages trained on the built-in datasets, found offline by
``train.init_from: zoo:NAME``.

``benchmarks/zoo.py`` trains them and publishes them into a zoo folder: one package folder per
name (the registry's package layout) and ``zoo.json``, the index that pins each package by its
content hash (the SHA-256 of its manifest, which holds the SHA-256 of every file) and keeps its
test metrics. The packages are not reproducible bit for bit across machines, so they are not
pinned in the code like the published ImageNet files; instead a package loads only when its
manifest matches the index and every file matches its manifest, so a package altered or
corrupted after publishing is refused, naming the file.

Zoo folders are searched in order: ``zoo/`` in each ``ATHANOR_DATA_MIRROR`` folder (copy a zoo
there to share it with machines without the script's output), then ``$ATHANOR_HOME/zoo/``
(where the script publishes by default).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from athanor.errors import PackageIntegrityError, UserError
from athanor.settings import Settings, current_settings

if TYPE_CHECKING:
    from athanor.registry.package import ModelPackage

INDEX = "zoo.json"
"""The index of a zoo folder."""
ZOO_FOLDER = "zoo"
"""The zoo's folder name in a mirror folder and in ``$ATHANOR_HOME``."""


@dataclass(frozen=True)
class ZooPackage:
    """One package of Athanor's own zoo, as its index describes it."""

    name: str
    folder: Path
    content_hash: str
    """SHA-256 of the package's manifest, as published."""
    info: dict[str, Any]
    """What the index says about it: description, dataset, classes, test metrics."""


def zoo_folders(settings: Settings | None = None) -> list[Path]:
    """Where zoo packages are looked for, in order (existing or not)."""
    settings = settings or current_settings()
    return [mirror / ZOO_FOLDER for mirror in settings.data_mirrors] + [settings.home / ZOO_FOLDER]


def _index(folder: Path) -> dict[str, Any]:
    path = folder / INDEX
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise PackageIntegrityError(f"{path}: unreadable zoo index ({exc})") from None
    packages = data.get("packages") if isinstance(data, dict) else None
    if not isinstance(packages, dict):
        raise PackageIntegrityError(f"{path}: not a zoo index (no 'packages' mapping)")
    return packages


def zoo_packages(settings: Settings | None = None) -> dict[str, ZooPackage]:
    """Every package of the zoo folders by name (the first folder holding a name wins)."""
    found: dict[str, ZooPackage] = {}
    for folder in zoo_folders(settings):
        for name, info in _index(folder).items():
            if name in found or not isinstance(info, dict):
                continue
            found[name] = ZooPackage(name, folder / name, str(info.get("sha256", "")), info)
    return found


def find_zoo_package(name: str, settings: Settings | None = None) -> ZooPackage:
    """The zoo package ``name`` (with or without ``zoo:``).

    Raises:
        UserError: no zoo folder has it; lists the names there are and where they were sought.
    """
    key = name.removeprefix("zoo:")
    packages = zoo_packages(settings)
    if key in packages:
        return packages[key]
    from athanor.nets.pretrained import ZOO

    valid = [f"zoo:{n}" for n in (*ZOO, *packages)]
    places = ", ".join(str(folder) for folder in zoo_folders(settings))
    raise UserError(
        f"train.init_from: no published weights or zoo package named '{name}'; valid: "
        f"{', '.join(valid)} (Athanor's own packages are looked for in {places}: "
        "'python benchmarks/zoo.py' trains and publishes them)"
    )


def load_zoo_package(name: str, settings: Settings | None = None) -> ModelPackage:
    """Load the zoo package ``name``, checked against its index and its manifest.

    Raises:
        UserError: no such package (see :func:`find_zoo_package`).
        PackageIntegrityError: the package differs from what was published (naming the file).
    """
    from athanor.registry.package import load_package

    entry = find_zoo_package(name, settings)
    if len(entry.content_hash) != 64:
        raise PackageIntegrityError(
            f"{entry.folder.parent / INDEX}: '{entry.name}' has no SHA-256 to check it against"
        )
    return load_package(entry.folder, expected_hash=entry.content_hash)


def publish_to_zoo(
    package_dir: Path, name: str, zoo_dir: Path, info: dict[str, Any] | None = None
) -> str:
    """Copy the package in ``package_dir`` into ``zoo_dir`` as ``name`` and pin it in the index.

    A package already there under ``name`` is replaced.

    Returns:
        The package's content hash (as pinned in the index).

    Raises:
        PackageIntegrityError: the package does not verify before it is published.
    """
    from athanor.registry.package import load_package
    from athanor.registry.registry import check_model_name

    check_model_name(name)
    content_hash = load_package(package_dir).content_hash  # never publish a corrupt package
    zoo_dir.mkdir(parents=True, exist_ok=True)
    target = zoo_dir / name
    staging = zoo_dir / f".{name}.{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(package_dir, staging)
    if target.exists():
        shutil.rmtree(target)
    os.replace(staging, target)
    packages = _index(zoo_dir)
    packages[name] = {**(info or {}), "sha256": content_hash}
    index = zoo_dir / INDEX
    temporary = index.with_name(f"{INDEX}.{os.getpid()}")
    temporary.write_text(json.dumps({"packages": packages}, indent=2, sort_keys=True) + "\n")
    os.replace(temporary, index)
    return content_hash
