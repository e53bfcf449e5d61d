"""Registering model packages as numbered versions and resolving ``NAME[@VERSION]``."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from athanor.errors import UserError
from athanor.registry.package import CARD, MANIFEST, METADATA, WEIGHTS, load_package
from athanor.store import ModelVersionRecord, Store

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def check_model_name(name: str) -> str:
    """Raises UserError unless ``name`` is a valid model name."""
    if not NAME_PATTERN.match(name):
        raise UserError(
            f"model name '{name}' is invalid: use 1-100 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return name


def parse_ref(ref: str) -> tuple[str, int | None]:
    """``"mnist-cnn@3"`` -> ``("mnist-cnn", 3)``; ``"mnist-cnn"`` or ``@latest`` -> latest.

    Raises:
        UserError: a malformed reference.
    """
    name, sep, version = ref.partition("@")
    check_model_name(name)
    if not sep or version in ("", "latest"):
        return name, None
    if version.startswith("v"):
        version = version[1:]
    if not version.isdigit() or int(version) < 1:
        raise UserError(f"'{ref}': a version is a number >= 1 or 'latest', e.g. {name}@1")
    return name, int(version)


def resolve(store: Store, ref: str) -> ModelVersionRecord:
    """The registered version ``ref`` names (newest when no version is given)."""
    name, version = parse_ref(ref)
    return store.models.get(name, version)


def package_path(store: Store, record: ModelVersionRecord) -> Path:
    return store.artifacts.resolve(record.path)


def register_package(
    store: Store,
    name: str,
    source: Path,
    *,
    run_id: int | None = None,
    metrics: dict[str, Any] | None = None,
    description: str = "",
) -> ModelVersionRecord:
    """Copy the package in ``source`` into the store as the next version of ``name``.

    The package is verified first; the copy appears under its final path in one rename.

    Raises:
        PackageIntegrityError: ``source`` is not an intact package.
    """
    check_model_name(name)
    package = load_package(source)
    for _attempt in range(10):
        version = store.models.next_version(name)
        destination = store.artifacts.model_dir(name, version)
        try:
            with store.artifacts.staging(destination) as staging:
                for file in (WEIGHTS, METADATA, CARD, MANIFEST):
                    shutil.copy2(source / file, staging / file)
        except FileExistsError:
            continue  # another process took this version number first
        try:
            return store.models.add_version(
                name,
                version=version,
                path=store.artifacts.relative(destination),
                content_hash=package.content_hash,
                run_id=run_id,
                metrics=metrics or package.metadata.get("metrics", {}),
                description=description,
            )
        except FileExistsError:
            shutil.rmtree(destination, ignore_errors=True)
    raise RuntimeError(f"could not allocate a version of '{name}' after 10 attempts")
