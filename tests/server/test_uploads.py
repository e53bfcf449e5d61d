"""Upload folders: nothing a client names can write or read outside its upload."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest

from athanor.errors import NotFound, UserError
from athanor.server.uploads import UploadArea, UploadTooLarge, safe_relative_path
from tests.server.conftest import PlatformProcess
from tests.server.test_app import call


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def write(area: UploadArea, upload: str, path: str, *parts: bytes) -> int:
    return anyio.run(area.write, upload, path, chunks(*parts))


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("../escape.csv", "'..' and '.' parts"),
        ("a/../../escape.csv", "'..' and '.' parts"),
        ("/etc/passwd", "must be relative"),
        ("a\\..\\b.csv", "backslashes"),
        ("a/.hidden", "hidden names"),
        ("bad\x00name", "control characters"),
        ("a//b", "empty names"),
        ("a/", "empty names"),
        ("", "1 to 1024 characters"),
        ("x" * 64, "longer than 63 characters"),
        ("/".join(["d"] * 17), "16 folders deep"),
    ],
)
def test_unsafe_paths_are_refused_with_the_reason(path: str, problem: str) -> None:
    with pytest.raises(UserError, match="path") as error:
        safe_relative_path(path)
    assert problem.replace("must be relative", "must be relative") in str(error.value) or (
        problem in str(error.value)
    )


def test_files_are_written_inside_the_upload_only(tmp_path: Path) -> None:
    area = UploadArea(tmp_path / "uploads", max_bytes=100)
    upload = area.create()
    assert write(area, upload, "images/cat/1.png", b"abc", b"def") == 6
    assert write(area, upload, "images/cat/1.png", b"xy") == 2  # replaced
    assert area.files(upload) == [("images/cat/1.png", 2)]
    assert (tmp_path / "uploads" / upload / "images" / "cat" / "1.png").read_bytes() == b"xy"
    with pytest.raises(UploadTooLarge, match="more than 100 bytes"):
        write(area, upload, "big.bin", b"x" * 60, b"x" * 60)
    assert area.files(upload) == [("images/cat/1.png", 2)]  # nothing half-written is left
    assert [p.name for p in (tmp_path / "uploads" / upload).iterdir()] == ["images"]
    with pytest.raises(UserError, match="'..'"):
        write(area, upload, "../x", b"1")
    with pytest.raises(NotFound):
        area.folder("0" * 32)
    with pytest.raises(NotFound):
        area.folder("../../etc")


def test_symbolic_links_in_an_upload_are_refused(tmp_path: Path) -> None:
    area = UploadArea(tmp_path / "uploads", max_bytes=1000)
    upload = area.create()
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, tmp_path / "uploads" / upload / "linked")
    with pytest.raises(UserError, match="symbolic link"):
        write(area, upload, "linked/file.csv", b"a,b\n")
    assert list(outside.iterdir()) == []
    with pytest.raises(UserError, match="symbolic link"):
        area.source(upload, "linked")
    with pytest.raises(UserError, match="symbolic link"):
        area.source(upload, ".")
    area.delete(upload)
    assert outside.exists() and not (tmp_path / "uploads" / upload).exists()


def test_the_size_limit_holds_across_parallel_writes_to_one_upload(
    shared_platform: PlatformProcess,
) -> None:
    # Two 700 KB files sent at once into an upload of at most 1 MB: each request's bytes are
    # reserved as they arrive, so one of them is refused and the upload stays within its
    # limit. Both bodies are in flight together: each sends half, waits for the other, then
    # sends the rest slowly.
    status, _, created = call(shared_platform, "POST", "/v1/uploads")
    assert status == 201, created
    base = f"/v1/uploads/{created['id']}"
    halfway = threading.Barrier(2, timeout=30)
    piece = b"x" * 35_000  # 20 pieces: 700,000 bytes

    def body() -> Iterator[bytes]:
        for index in range(20):
            if index == 10:
                halfway.wait()
            yield piece
            time.sleep(0.02)

    results: dict[str, int] = {}

    def send(name: str) -> None:
        status, _, _ = call(shared_platform, "PUT", f"{base}/files/{name}", body())
        results[name] = status

    threads = [threading.Thread(target=send, args=(name,)) for name in ("a.bin", "b.bin")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results.values()) == [200, 413], results
    status, _, shown = call(shared_platform, "GET", base)
    assert status == 200 and shown["size"] == 700_000 <= 1024 * 1024
    assert [f["path"] for f in shown["files"]] == [n for n, s in results.items() if s == 200]
    # What the refused write reserved was released: a small file still fits beside the first.
    status, _, _ = call(shared_platform, "PUT", f"{base}/files/small.bin", b"y" * 1000)
    assert status == 200
    call(shared_platform, "DELETE", base)
