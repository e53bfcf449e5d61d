"""Registering model packages as numbered versions and resolving ``NAME[@VERSION]``."""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from athanor.errors import Conflict, NotFound, PackageIntegrityError, UserError
from athanor.registry.archive import extract_package_zip
from athanor.registry.package import (
    METADATA,
    WEIGHTS,
    ModelPackage,
    load_package,
    package_files,
)
from athanor.store import ModelVersionRecord, Store

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
ALLOCATION_SECONDS = 60.0
"""How long a registration waits for the others that hold the next numbers of its model."""


def check_model_name(name: str) -> str:
    """Raises UserError unless ``name`` is a valid model name."""
    if not NAME_PATTERN.match(name):
        raise UserError(
            f"model name '{name}' is invalid: use 1-100 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return name


ALIAS_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
_VERSION_LIKE = re.compile(r"^v?\d+$")
RESERVED_ALIASES = frozenset({"latest"})


def check_alias_name(alias: str) -> str:
    """Raises UserError unless ``alias`` can name an alias (``production``, ``staging``...)."""
    if alias in RESERVED_ALIASES or _VERSION_LIKE.match(alias) or not ALIAS_PATTERN.match(alias):
        raise UserError(
            f"alias '{alias}' is invalid: use 1-64 letters, digits, '_' or '-', starting with a "
            "letter; 'latest' and version-like names (3, v3) are reserved"
        )
    return alias


def parse_ref(ref: str) -> tuple[str, int | str | None]:
    """Split a model reference into its name and what it selects.

    ``"mnist-cnn@3"`` (or ``@v3``) -> ``("mnist-cnn", 3)``; ``"mnist-cnn@production"`` ->
    ``("mnist-cnn", "production")`` (an alias); ``"mnist-cnn"`` or ``@latest`` ->
    ``("mnist-cnn", None)`` (the newest version).

    Raises:
        UserError: a malformed reference.
    """
    name, sep, selector = ref.partition("@")
    check_model_name(name)
    if not sep or selector in ("", "latest"):
        return name, None
    if _VERSION_LIKE.match(selector):
        version = int(selector.removeprefix("v"))
        if version >= 1:
            return name, version
    elif ALIAS_PATTERN.match(selector):
        return name, selector
    raise UserError(
        f"'{ref}': after '@' comes a version number >= 1, an alias or 'latest', "
        f"e.g. {name}@1 or {name}@production"
    )


def resolve(store: Store, ref: str) -> ModelVersionRecord:
    """The registered version ``ref`` names: a number, an alias, or the newest version.

    Raises:
        UserError: a malformed reference.
        NotFound: no such model, version or alias (naming what exists).
    """
    name, selector = parse_ref(ref)
    if isinstance(selector, str):
        return store.models.get(name, store.models.alias_version(name, selector))
    return store.models.get(name, selector)


def package_path(store: Store, record: ModelVersionRecord) -> Path:
    """The folder holding the package of a registered version (fetched from the artifact
    bucket when this machine lacks it)."""
    return store.artifacts.local(record.path)


def register_package(
    store: Store,
    name: str,
    source: Path,
    *,
    run_id: int | None = None,
    metrics: dict[str, Any] | None = None,
    description: str = "",
    tags: dict[str, str] | None = None,
) -> ModelVersionRecord:
    """Copy the package in ``source`` into the store as the next version of ``name``.

    The package is verified first; the copy appears under its final path in one rename.
    Version numbers are never reused, even after a version is deleted. With an artifact
    bucket, the package is published once the database gave this registration its number
    (so that two machines never write the same version's objects).

    Raises:
        PackageIntegrityError: ``source`` is not an intact package.
    """
    check_model_name(name)
    package = load_package(source)
    deadline = time.monotonic() + ALLOCATION_SECONDS
    pause = 0.01
    while True:
        version = store.models.next_version(name)
        destination = store.artifacts.model_dir(name, version)
        try:
            with store.artifacts.staging(destination, publish=False) as staging:
                for file in package_files(source):
                    shutil.copy2(source / file, staging / file)
        except FileExistsError:
            # Another registration took this number and records it in a moment: wait for
            # it rather than take the next number, so that numbers stay without gaps.
            if time.monotonic() > deadline:
                break
            time.sleep(pause)
            pause = min(pause * 2, 0.2)
            continue
        try:
            record = store.models.add_version(
                name,
                version=version,
                path=store.artifacts.relative(destination),
                content_hash=package.content_hash,
                run_id=run_id,
                metrics=metrics or package.metadata.get("metrics", {}),
                description=description,
                tags=tags,
            )
        except FileExistsError:
            shutil.rmtree(destination, ignore_errors=True)
            if time.monotonic() > deadline:
                break
            continue
        try:
            store.artifacts.publish(destination)
        except BaseException:
            store.models.delete_version(name, version)
            shutil.rmtree(destination, ignore_errors=True)
            raise
        return record
    raise RuntimeError(
        f"could not allocate a version of '{name}' in {ALLOCATION_SECONDS:g} s: "
        f"{destination} exists but no version {version} is registered (a registration "
        "that crashed left it; remove the folder if no registration is under way)"
    )


def default_import_name(metadata: dict[str, Any]) -> str:
    """The name an imported package is registered under when none is given."""
    spec = metadata.get("spec") or {}
    return str(spec.get("register_as") or spec.get("name") or "model")


def check_package_loads(package: ModelPackage, source: Path) -> None:
    """Refuse a package that could not predict: its network, weights or preprocessing.

    A manifest proves only that the files were not altered after it was written; a package
    written by hand can hold weights of other shapes or steps no version knows. This rebuilds
    the network from the spec, loads the weights strictly and reads the preprocessing steps,
    as serving does.

    Raises:
        PackageIntegrityError: naming ``source``, the file and what failed.
    """
    from athanor.data.preprocessing import Preprocessor
    from athanor.registry.network import rebuild_network

    try:
        rebuild_network(package)
    except Exception as exc:  # a bad spec, schema or state dict fails in many types
        raise PackageIntegrityError(
            f"{source}: the network cannot be rebuilt from {METADATA} with the weights of "
            f"{WEIGHTS} ({_first_line(exc)}); re-export the package from the registry it "
            "came from"
        ) from None
    try:
        Preprocessor.from_json(package.metadata.get("preprocessing"))  # type: ignore[arg-type]
    except Exception as exc:  # unknown step types, missing or mistyped state
        raise PackageIntegrityError(
            f"{source}: {METADATA} key 'preprocessing': the steps cannot be read "
            f"({_first_line(exc)}); re-export the package from the registry it came from"
        ) from None


def _first_line(error: BaseException) -> str:
    # torch's state-dict errors spread the useful part ("size mismatch for ...") over lines.
    text = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    return (text or type(error).__name__)[:300]


def import_package(
    store: Store,
    source: Path,
    name: str | None = None,
    *,
    expected_hash: str | None = None,
    description: str = "",
    tags: dict[str, str] | None = None,
) -> ModelVersionRecord:
    """Register a package folder or zip (from ``models export``) as the next version of ``name``.

    Args:
        store: the store to import into.
        source: a package folder or a ``.zip`` of one.
        name: the model name (default: the name in the package's spec).
        expected_hash: refuse the package unless its content hash is this one.
        description: the version's description.
        tags: tags for the new version; ``imported_from`` is added.

    Raises:
        PackageIntegrityError: not a package, an altered file, a hash other than expected,
            or a package that cannot be loaded to predict (nothing is registered then).
    """
    source = Path(source)
    if not source.exists():
        raise UserError(f"{source}: no such file or folder")
    staging_root = store.artifacts.root / ".staging"
    staging_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=staging_root, prefix="import-") as scratch:
        folder = source
        if source.is_file():
            folder = Path(scratch)
            extract_package_zip(source, folder)
        package = load_package(folder, expected_hash=expected_hash)
        check_package_loads(package, source)
        name = check_model_name(name or default_import_name(package.metadata))
        return register_package(
            store,
            name,
            folder,
            metrics=package.metadata.get("metrics"),
            description=description or package.metadata.get("spec", {}).get("description", ""),
            tags={"imported_from": source.name, **(tags or {})},
        )


def delete_versions(store: Store, ref: str, *, force: bool = False) -> list[ModelVersionRecord]:
    """Delete ``NAME@VERSION`` (or every version of ``NAME``) with its package folders.

    Args:
        store: the store.
        ref: ``NAME@VERSION`` or ``NAME@ALIAS`` for one version, ``NAME`` for the whole model.
        force: also delete versions that an alias points at (the aliases go with them).

    Returns:
        The deleted versions.

    Raises:
        UserError: an alias points at a version to delete and ``force`` is not set.
        Conflict: a running deployment serves a version to delete (``force`` or not).
        NotFound: no such model, version or alias.
    """
    name, selector = parse_ref(ref)
    whole = selector is None and "@" not in ref
    if whole:
        try:
            targets = store.models.versions(name)
        except NotFound:
            targets = []  # a name whose versions were all deleted: delete_model checks it
    else:
        targets = [resolve(store, ref)]
    serving = _deployments_serving(store, targets)
    if serving:
        listed = ", ".join(f"'{deployment}' serves {ref}" for deployment, ref in serving)
        raise Conflict(
            f"cannot delete what a running deployment serves ({listed}); stop the deployment first",
            code="conflict_in_use",
            params={"name": ", ".join(r for _, r in serving), "users": [d for d, _ in serving]},
        )
    pointed = {
        alias: version
        for alias, version in store.models.aliases(name).items()
        if any(record.version == version for record in targets)
    }
    if pointed and not force:
        listed = ", ".join(f"{alias} -> {name}@{version}" for alias, version in pointed.items())
        raise UserError(
            f"aliases point at what would be deleted ({listed}); move them first with "
            f"'athanor models alias', or delete with --force"
        )
    if whole:
        deleted = store.models.delete_model(name)
    else:
        deleted = [store.models.delete_version(name, targets[0].version)]
    for record in deleted:
        # The rows are gone first, so no reader resolves to a folder being removed.
        store.artifacts.delete(store.artifacts.resolve(record.path))
    return deleted


def _deployments_serving(store: Store, targets: list[ModelVersionRecord]) -> list[tuple[str, str]]:
    """``(deployment, NAME@VERSION)`` for each running deployment that serves a target."""
    wanted = {(record.name, record.version): record.ref for record in targets}
    serving = []
    for deployment in store.deployments.list(status="running"):
        try:
            served = resolve(store, deployment.model)
        except NotFound:
            continue  # its model is already gone: nothing of the targets
        if (served.name, served.version) in wanted:
            serving.append((deployment.name, wanted[(served.name, served.version)]))
    return serving
