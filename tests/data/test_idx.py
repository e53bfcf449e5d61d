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
