"""Artifacts in an S3-compatible bucket (MinIO, Ceph, a cloud bucket), through fsspec/s3fs.

The bucket mirrors the local artifact folder: ``artifacts/<relative path>`` is the object
``<prefix>/<relative path>``. A folder is published file by file and then its manifest,
``<folder>/.athanor-complete.json`` (each file's name, size and SHA-256), is written last: a
folder without its manifest does not exist for readers, so a publication cut short by a
kill is never seen half done. A fetch downloads into a staging folder, checks every file
against the manifest and renames the folder into place. Single files (a job's log) are
plain objects, overwritten when republished.

Credentials, region and endpoint come from the standard AWS environment
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``,
``AWS_ENDPOINT_URL`` or ``AWS_ENDPOINT_URL_S3`` for MinIO and Ceph).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import threading
import uuid
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from athanor.errors import UserError

MANIFEST_NAME = ".athanor-complete.json"
MANIFEST_FORMAT = 1
MAX_FILES = 200_000
"""More files than this in one manifest is refused before anything is downloaded."""
MAX_TOTAL_BYTES = 1 << 40
"""Likewise for a folder of more than 1 TiB."""
MAX_MANIFEST_BYTES = 64 << 20
ENV_URL = "ATHANOR_ARTIFACTS_URL"


class BucketError(UserError):
    """The bucket cannot be used: missing, refusing the credentials, or unreachable."""


class ArtifactIntegrityError(UserError):
    """A fetched object does not match its folder's manifest, or the manifest is unsafe."""


def split_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ``("bucket", "some/prefix")``.

    Raises:
        UserError: not an ``s3://BUCKET[/PREFIX]`` URL (naming ATHANOR_ARTIFACTS_URL).
    """
    scheme, sep, rest = url.partition("://")
    bucket, _, prefix = rest.partition("/")
    if scheme != "s3" or not sep or not bucket:
        raise UserError(
            f"{ENV_URL}={url!r} is not an S3 URL: use s3://BUCKET or s3://BUCKET/PREFIX "
            "(or leave it unset for the local artifact folder)"
        )
    return bucket, prefix.strip("/")


def _endpoint() -> str | None:
    # botocore reads these itself since 1.31; passing them keeps older clients right too.
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


_opened: dict[tuple[Any, ...], Bucket] = {}
_opening = threading.Lock()


def open_bucket(url: str) -> Bucket:
    """The bucket of ``url``, checked once per process (and per endpoint and credentials).

    Raises:
        UserError: s3fs is not installed (naming the extra), the URL is malformed, the
            bucket does not exist, refuses the credentials or cannot be reached.
    """
    bucket, prefix = split_url(url)
    key = (os.getpid(), url, _endpoint(), os.environ.get("AWS_ACCESS_KEY_ID"))
    with _opening:
        found = _opened.get(key)
        if found is None:
            found = Bucket(url, bucket, prefix, _filesystem())
            found.check()
            _opened[key] = found
        return found


def _filesystem() -> Any:
    try:
        import s3fs
    except ImportError:
        raise UserError(
            f"{ENV_URL} names an S3 bucket, but s3fs is not installed: pip install 'athanor[s3]'"
        ) from None
    endpoint = _endpoint()
    return s3fs.S3FileSystem(
        # several processes write the bucket: a cached listing would hide their objects
        use_listings_cache=False,
        skip_instance_cache=True,
        client_kwargs={"endpoint_url": endpoint} if endpoint else {},
    )


_Method = TypeVar("_Method", bound=Callable[..., Any])


def _named_failures(action: str) -> Callable[[_Method], _Method]:
    """Turn the bucket's refusals and transport failures into a BucketError naming the
    object's URL (local disk errors such as a full disk pass through unchanged)."""

    def decorate(method: _Method) -> _Method:
        @functools.wraps(method)
        def wrapper(self: Bucket, *args: Any, **kwargs: Any) -> Any:
            from botocore.exceptions import BotoCoreError, ClientError

            try:
                return method(self, *args, **kwargs)
            except (PermissionError, ConnectionError, BotoCoreError, ClientError) as exc:
                where = self.url_of(next(arg for arg in args if isinstance(arg, str)))
                raise BucketError(
                    f"could not {action} {where}: {exc}; check the bucket "
                    f"({ENV_URL}={self.url}), its credentials and AWS_ENDPOINT_URL"
                ) from exc

        return wrapper  # type: ignore[return-value]

    return decorate


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a local folder: every file's relative name, size and SHA-256."""
    files = [
        {
            "name": path.relative_to(folder).as_posix(),
            "size": path.stat().st_size,
            "sha256": file_digest(path),
        }
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != MANIFEST_NAME
    ]
    return {"format": MANIFEST_FORMAT, "files": files}


class Bucket:
    """One ``s3://bucket/prefix``: publish, fetch, list and delete artifact paths.

    Paths are given relative to the artifact folder (``models/iris/v1``).
    """

    def __init__(self, url: str, bucket: str, prefix: str, fs: Any) -> None:
        self.url = url
        self.bucket = bucket
        self.prefix = prefix
        self.fs = fs
        self.matched_databases: set[str] = set()
        """The databases this process found not behind the bucket's run folders (checked once)."""

    def key(self, relative: str) -> str:
        parts = [self.bucket, self.prefix, relative.strip("/")]
        return "/".join(part for part in parts if part)

    def url_of(self, relative: str) -> str:
        return f"s3://{self.key(relative)}"

    def check(self) -> None:
        """Raises BucketError unless the bucket exists and answers with these credentials."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.fs.call_s3("head_bucket", Bucket=self.bucket)
        except FileNotFoundError:
            raise BucketError(
                f"{ENV_URL}={self.url}: the bucket '{self.bucket}' does not exist at "
                f"{_endpoint() or 'AWS'}; create it (e.g. 'mc mb' or 'aws s3 mb') or fix the URL"
            ) from None
        except PermissionError:
            raise BucketError(
                f"{ENV_URL}={self.url}: the bucket '{self.bucket}' refuses these credentials; "
                "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the bucket's policy"
            ) from None
        except (OSError, BotoCoreError, ClientError) as exc:
            raise BucketError(
                f"{ENV_URL}={self.url}: the bucket cannot be reached at "
                f"{_endpoint() or 'AWS'} ({exc}); check AWS_ENDPOINT_URL and the network"
            ) from None

    # --- publishing ---------------------------------------------------------------------

    @_named_failures("publish")
    def publish_folder(self, folder: Path, relative: str) -> None:
        """Upload every file of ``folder``, then its manifest (unchanged folders cost one GET)."""
        manifest = folder_manifest(folder)
        published = self.read_manifest(relative)
        if published == manifest:
            return
        manifest_key = self.key(f"{relative}/{MANIFEST_NAME}")
        if published is not None:
            # readers stop seeing the old set before any object of it changes
            self.fs.rm_file(manifest_key)
        local = [str(folder / entry["name"]) for entry in manifest["files"]]
        remote = [self.key(f"{relative}/{entry['name']}") for entry in manifest["files"]]
        if local:
            self.fs.put(local, remote)
        stale = set(self._objects_under(relative)) - set(remote)
        if stale:
            self.fs.rm(sorted(stale))
        self.fs.pipe_file(manifest_key, json.dumps(manifest, indent=1).encode())

    @_named_failures("publish")
    def publish_file(self, path: Path, relative: str) -> None:
        """Upload one file, replacing the object (a growing log is republished whole)."""
        self.fs.put_file(str(path), self.key(relative))

    # --- reading ------------------------------------------------------------------------

    def read_manifest(self, relative: str) -> dict[str, Any] | None:
        """The manifest of a published folder, None when it is not (completely) published."""
        key = self.key(f"{relative}/{MANIFEST_NAME}")
        try:
            size = self.fs.size(key)
            if size > MAX_MANIFEST_BYTES:
                raise ArtifactIntegrityError(
                    f"{self.url_of(relative)}: its manifest is {size} bytes, more than "
                    f"{MAX_MANIFEST_BYTES}; refusing it"
                )
            raw = self.fs.cat_file(key)
        except FileNotFoundError:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise ArtifactIntegrityError(
                f"s3://{key}: not a JSON manifest; republish the folder"
            ) from None

    def is_file(self, relative: str) -> bool:
        try:
            return bool(self.fs.isfile(self.key(relative)))
        except FileNotFoundError:
            return False

    @_named_failures("fetch")
    def fetch_folder(self, relative: str, destination: Path, staging_root: Path) -> bool:
        """Download a published folder into ``destination`` (checked, then one rename).

        Returns:
            False when the bucket holds no complete folder there.

        Raises:
            ArtifactIntegrityError: an unsafe manifest, or a file whose size or SHA-256
                differs from the manifest (nothing is left in place then).
        """
        manifest = self.read_manifest(relative)
        if manifest is None:
            return False
        files = self._checked_entries(relative, manifest)
        staging_root.mkdir(parents=True, exist_ok=True)
        folder = staging_root / f"fetch-{uuid.uuid4().hex}"
        try:
            folder.mkdir()
            for entry in files:
                (folder / entry["name"]).parent.mkdir(parents=True, exist_ok=True)
            if files:
                self.fs.get(
                    [self.key(f"{relative}/{entry['name']}") for entry in files],
                    [str(folder / entry["name"]) for entry in files],
                )
            for entry in files:
                self._verify(relative, folder / entry["name"], entry)
            destination.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(folder, destination)
            except OSError:
                if not destination.is_dir():  # else another reader fetched it meanwhile
                    raise
        except FileNotFoundError as exc:
            raise ArtifactIntegrityError(
                f"{self.url_of(relative)}: an object its manifest lists is missing ({exc}); "
                "republish the folder"
            ) from None
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return True

    @_named_failures("fetch")
    def fetch_file(self, relative: str, destination: Path, staging_root: Path) -> bool:
        """Download one plain object into ``destination``; False when there is none."""
        if not self.is_file(relative):
            return False
        staging_root.mkdir(parents=True, exist_ok=True)
        partial = staging_root / f"fetch-{uuid.uuid4().hex}"
        try:
            self.fs.get_file(self.key(relative), str(partial))
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(partial, destination)
        except FileNotFoundError:
            return False
        finally:
            partial.unlink(missing_ok=True)
        return True

    @_named_failures("fetch")
    def refresh_file(self, relative: str, destination: Path, staging_root: Path) -> bool:
        """Download the object when ``destination`` is missing or differs in size (a log
        only grows); True when ``destination`` exists afterwards."""
        try:
            size = self.fs.size(self.key(relative))
        except FileNotFoundError:
            return destination.exists()
        if destination.exists() and destination.stat().st_size == size:
            return True
        return self.fetch_file(relative, destination, staging_root) or destination.exists()

    def folder_names(self, relative: str) -> list[str]:
        """The names of the folders directly under ``relative``, complete or not."""
        try:
            entries = self.fs.ls(self.key(relative), detail=True)
        except FileNotFoundError:
            return []
        return [
            PurePosixPath(entry["name"]).name for entry in entries if entry["type"] == "directory"
        ]

    def complete_folders(self, relative: str) -> list[str]:
        """The names of the completely published folders directly under ``relative``."""
        names = self.folder_names(relative)
        return sorted(
            name for name in names if self.fs.exists(self.key(f"{relative}/{name}/{MANIFEST_NAME}"))
        )

    # --- deleting -----------------------------------------------------------------------

    @_named_failures("delete")
    def delete(self, relative: str) -> None:
        """Remove a folder (its manifest first, so readers stop seeing it) or a file."""
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self.key(f"{relative}/{MANIFEST_NAME}"))
        objects = self._objects_under(relative)
        if objects:
            self.fs.rm(objects)
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self.key(relative))

    def _objects_under(self, relative: str) -> list[str]:
        try:
            return [key for key in self.fs.find(self.key(relative) + "/")]
        except FileNotFoundError:
            return []

    # --- checks -------------------------------------------------------------------------

    def _checked_entries(self, relative: str, manifest: dict[str, Any]) -> list[dict[str, Any]]:
        """The manifest's files, after refusing unsafe names and unreasonable sizes."""
        where = self.url_of(relative)
        files = manifest.get("files")
        if manifest.get("format") != MANIFEST_FORMAT or not isinstance(files, list):
            raise ArtifactIntegrityError(
                f"{where}/{MANIFEST_NAME}: not a manifest of format {MANIFEST_FORMAT}"
            )
        if len(files) > MAX_FILES:
            raise ArtifactIntegrityError(
                f"{where}/{MANIFEST_NAME}: {len(files)} files, more than {MAX_FILES}; refusing it"
            )
        total = 0
        for entry in files:
            name = entry.get("name") if isinstance(entry, dict) else None
            size = entry.get("size") if isinstance(entry, dict) else None
            digest = entry.get("sha256") if isinstance(entry, dict) else None
            parts = name.split("/") if isinstance(name, str) else [""]
            if (
                any(part in ("", ".", "..") for part in parts)
                or "\\" in name
                or not isinstance(size, int)
                or size < 0
                or not isinstance(digest, str)
            ):
                raise ArtifactIntegrityError(
                    f"{where}/{MANIFEST_NAME}: entry {entry!r} is not a relative file name "
                    "inside the folder with a size and a sha256; refusing it"
                )
            total += size
        if total > MAX_TOTAL_BYTES:
            raise ArtifactIntegrityError(
                f"{where}/{MANIFEST_NAME}: {total} bytes in all, more than {MAX_TOTAL_BYTES}; "
                "refusing it"
            )
        return files

    def _verify(self, relative: str, path: Path, entry: dict[str, Any]) -> None:
        size = path.stat().st_size
        digest = file_digest(path) if size == entry["size"] else None
        if digest != entry["sha256"]:
            got = f"{size} bytes" if size != entry["size"] else f"SHA-256 {digest}"
            raise ArtifactIntegrityError(
                f"{self.url_of(relative)}/{entry['name']}: the object differs from its "
                f"folder's manifest (expected {entry['size']} bytes with SHA-256 "
                f"{entry['sha256']}, got {got}); it was altered or overwritten; nothing was "
                "fetched (republish the folder from a machine that has it)"
            )


__all__ = [
    "MANIFEST_NAME",
    "ArtifactIntegrityError",
    "Bucket",
    "BucketError",
    "folder_manifest",
    "open_bucket",
    "split_url",
]
