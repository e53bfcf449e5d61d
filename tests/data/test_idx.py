"""The IDX reader."""

from __future__ import annotations

import numpy as np
import pytest

from athanor.data.idx import parse_idx
from athanor.errors import DataError


def idx(array: np.ndarray, code: int) -> bytes:
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    return header + array.tobytes()


def test_round_trip_of_bytes_and_big_endian_ints() -> None:
    images = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(parse_idx(idx(images, 0x08)), images)
    ints = np.array([1, -2, 300], dtype=">i4")
    parsed = parse_idx(idx(ints, 0x0C))
    assert parsed.tolist() == [1, -2, 300] and parsed.dtype.byteorder in ("=", "<", "|")
    assert parsed.flags.writeable


def test_bad_files_name_the_source() -> None:
    with pytest.raises(DataError, match="f.idx: not an IDX file"):
        parse_idx(b"\x01\x02\x08\x01", "f.idx")
    with pytest.raises(DataError, match="promises 6 bytes of data for shape \\(6,\\), found 5"):
        parse_idx(bytes([0, 0, 8, 1, 0, 0, 0, 6]) + b"12345", "f.idx")
    with pytest.raises(DataError, match="unknown IDX element type 0x07"):
        parse_idx(bytes([0, 0, 7, 1, 0, 0, 0, 1, 0]), "f.idx")


# --- files, plain and gzipped: corrupt, short, long and bomb-like ---------------------------


def test_real_mnist_files_read_from_the_mirror(mirror) -> None:
    from athanor.data.idx import read_idx_file

    labels = read_idx_file(mirror / "mnist" / "t10k-labels-idx1-ubyte.gz")
    assert labels.shape == (10_000,) and set(labels.tolist()) == set(range(10))


def test_corrupt_and_lying_gzipped_files_are_named_errors(tmp_path, mirror) -> None:
    import gzip
    import subprocess
    import sys

    from athanor.data.idx import read_idx_file

    real = (mirror / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes()
    corrupt = bytearray(real)
    for index in range(200, 400):
        corrupt[index] ^= 0x5A  # damaged deflate data: zlib.error before
    folder = tmp_path / "digits"
    folder.mkdir()
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(bytes(corrupt))
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(
        (mirror / "mnist" / "t10k-images-idx3-ubyte.gz").read_bytes()
    )
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz: not a readable gzip file"):
        read_idx_file(folder / "t10k-labels-idx1-ubyte.gz")
    result = subprocess.run(
        [sys.executable, "-m", "athanor.cli", "data", "import", str(folder), "-n", "my-digits"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "t10k-labels-idx1-ubyte.gz: not a readable gzip file" in result.stderr

    truncated = tmp_path / "cut-idx1-ubyte.gz"
    truncated.write_bytes(real[: len(real) // 2])
    with pytest.raises(DataError, match="cut-idx1-ubyte.gz: not a readable gzip file"):
        read_idx_file(truncated)
    longer = tmp_path / "long-idx1-ubyte.gz"  # a header promising 3 bytes, then 64 MiB
    with gzip.open(longer, "wb") as handle:
        handle.write(bytes([0, 0, 8, 1, 0, 0, 0, 3]) + b"\x01\x02\x03")
        for _ in range(64):
            handle.write(b"\x00" * (1 << 20))
    assert longer.stat().st_size < 200_000
    with pytest.raises(DataError, match="promises 3 bytes of data for shape \\(3,\\), found 4"):
        read_idx_file(longer)  # read no further than one byte past the promise
    huge = tmp_path / "huge-idx3-ubyte.gz"
    with gzip.open(huge, "wb") as handle:
        handle.write(bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in (2**20,) * 3))
    with pytest.raises(DataError, match="promises 1,152,921,504,606,846,976 bytes .* more than"):
        read_idx_file(huge)
