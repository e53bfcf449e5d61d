"""CIFAR-10 from its binary archive: generated in the real format, served over loopback."""

from __future__ import annotations

import hashlib
import io
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from athanor.data.download import RemoteFile
from athanor.data.sources import cifar10
from athanor.errors import DataError, DatasetUnavailable
from athanor.settings import Settings


def _archive(records_per_batch: int) -> tuple[bytes, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    members: dict[str, np.ndarray] = {}
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for member in (*cifar10.TRAIN_MEMBERS, cifar10.TEST_MEMBER):
            records = rng.integers(0, 256, size=(records_per_batch, cifar10.RECORD), dtype=np.uint8)
            records[:, 0] = rng.integers(0, 10, size=records_per_batch)
            members[member] = records
            data = records.tobytes()
            info = tarfile.TarInfo(member)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue(), members


def test_official_entry_names_the_published_archive_and_md5() -> None:
    remote = cifar10.CIFAR10_ARCHIVE
    assert remote.urls == ("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",)
    assert (remote.algorithm, remote.whole_file) == ("md5", True)
    assert remote.digest == "c32a1d4ab5d03f1284b67883e8d87530"


def test_offline_cifar10_says_what_was_tried(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, db_url="sqlite://", data_mirrors=(), offline=True)
    with pytest.raises(DatasetUnavailable, match="cifar-10-binary.tar.gz.*ATHANOR_OFFLINE"):
        cifar10._load(settings)


def test_archive_downloaded_over_loopback_is_verified_and_decoded(tmp_path: Path) -> None:
    body, members = _archive(7)
    served: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/cifar-10-binary.tar.gz"
        remote = RemoteFile(
            "cifar-10-binary.tar.gz",
            (url,),
            hashlib.md5(body).hexdigest(),
            algorithm="md5",
            whole_file=True,
        )
        settings = Settings(home=tmp_path, db_url="sqlite://", data_mirrors=())
        raw = cifar10._load(settings, remote)
    finally:
        server.shutdown()
        server.server_close()
    assert served == ["/cifar-10-binary.tar.gz"]
    assert raw.x.shape == (35, 3, 32, 32) and raw.x_test.shape == (7, 3, 32, 32)
    first = members[cifar10.TRAIN_MEMBERS[0]][0]
    assert raw.y[0] == first[0]
    # Planes are red, green, blue, each 32x32 in row order.
    assert np.array_equal(raw.x[0, 1].ravel(), first[1 + 1024 : 1 + 2048])
    assert raw.classes[0] == "airplane" and len(raw.classes) == 10


def test_truncated_batch_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a whole number of records"):
        cifar10.read_cifar_records(b"\x00" * (cifar10.RECORD + 5), "data_batch_1.bin")
