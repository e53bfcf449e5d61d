"""Dataset files: mirror lookup by name, checksums, and resumable downloads over loopback."""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from athanor.data.download import RemoteFile, fetch, read_bytes
from athanor.errors import DatasetUnavailable
from athanor.settings import Settings

CONTENT = bytes(range(256)) * 4096  # 1 MiB
SHA = hashlib.sha256(CONTENT).hexdigest()


def settings_for(home: Path, *mirrors: Path, offline: bool = False) -> Settings:
    return Settings(home=home, db_url="sqlite://", data_mirrors=tuple(mirrors), offline=offline)


class _Server:
    """Serves CONTENT (gzipped) with Range support; can cut the first response short."""

    def __init__(self, cut_first: bool) -> None:
        self.body = gzip.compress(CONTENT)
        self.requests: list[str | None] = []
        self.cut_first = cut_first
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                header = self.headers.get("Range")
                server.requests.append(header)
                start = int(header.split("=")[1].rstrip("-")) if header else 0
                payload = server.body[start:]
                self.send_response(206 if header else 200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if server.cut_first and len(server.requests) == 1:
                    self.wfile.write(payload[: len(payload) // 2])
                    self.wfile.flush()
                    self.connection.close()
                    return
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/data.bin.gz"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[_Server]:
    instance = _Server(cut_first=True)
    yield instance
    instance.close()


def test_mirror_found_by_file_name_anywhere_below(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "deep" / "er").mkdir(parents=True)
    (mirror / "deep" / "er" / "data.bin.gz").write_bytes(gzip.compress(CONTENT))
    remote = RemoteFile("data.bin.gz", ("http://127.0.0.1:9/none",), SHA, gzipped=True)
    path = fetch(remote, settings=settings_for(tmp_path / "home", mirror))
    assert path == mirror / "deep" / "er" / "data.bin.gz"
    assert read_bytes(path, gzipped=True) == CONTENT
    # The verification is remembered, and a changed file is checked again.
    assert (tmp_path / "home" / "cache" / "verified.json").is_file()


def test_corrupt_mirror_file_is_rejected_with_reasons(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "data.bin.gz").write_bytes(gzip.compress(CONTENT[:-1] + b"x"))
    remote = RemoteFile("data.bin.gz", ("http://127.0.0.1:9/none",), SHA, gzipped=True)
    with pytest.raises(DatasetUnavailable) as caught:
        fetch(remote, settings=settings_for(tmp_path / "home", mirror), timeout=2)
    message = str(caught.value)
    assert "content does not match its SHA-256" in message
    assert "http://127.0.0.1:9/none" in message
    assert "ATHANOR_DATA_MIRROR" in message


def test_interrupted_download_resumes_with_a_range_request(tmp_path: Path, server: _Server) -> None:
    remote = RemoteFile("data.bin.gz", (server.url,), SHA, gzipped=True)
    settings = settings_for(tmp_path / "home")
    with pytest.raises(DatasetUnavailable):
        fetch(remote, settings=settings)  # the server drops the first transfer halfway
    partial = tmp_path / "home" / "cache" / "datasets" / "data.bin.gz.part"
    have = partial.stat().st_size
    assert 0 < have < len(server.body)
    path = fetch(remote, settings=settings)
    assert server.requests == [None, f"bytes={have}-"]
    assert read_bytes(path, gzipped=True) == CONTENT
    assert not partial.exists()
    assert fetch(remote, settings=settings) == path  # now served from the cache
    assert len(server.requests) == 2


def test_wrong_checksum_download_is_discarded(tmp_path: Path) -> None:
    bad = _Server(cut_first=False)
    try:
        remote = RemoteFile("data.bin.gz", (bad.url,), "0" * 64, gzipped=True)
        with pytest.raises(DatasetUnavailable, match="checksum mismatch, discarded"):
            fetch(remote, settings=settings_for(tmp_path / "home"))
        assert not (tmp_path / "home" / "cache" / "datasets" / "data.bin.gz").exists()
    finally:
        bad.close()


def test_offline_mode_never_downloads(tmp_path: Path, server: _Server) -> None:
    remote = RemoteFile("data.bin.gz", (server.url,), SHA, gzipped=True)
    with pytest.raises(DatasetUnavailable, match="downloads are disabled"):
        fetch(remote, settings=settings_for(tmp_path / "home", offline=True))
    assert server.requests == []
