"""The IDX format of MNIST-style datasets (LeCun's ``*-idx3-ubyte`` files), plain or gzipped.

A gzipped file is decompressed as a stream: the header says how many bytes follow, so a file
that decompresses to more (a gzip bomb), to less, or not at all is refused naming the file,
without holding more than the data the header promises, and never more than
``ATHANOR_MAX_ARCHIVE_MB``.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from athanor.errors import DataError
from athanor.spec.limits import ENVIRONMENT, current_limits

_DTYPES = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def parse_idx(content: bytes, source: str = "idx data") -> np.ndarray:
    """Decode IDX bytes into an array of the recorded type and shape.

    Raises:
        DataError: naming ``source``, when the header or the length is wrong.
    """
    if len(content) < 4 or content[0] != 0 or content[1] != 0:
        raise DataError(f"{source}: not an IDX file (bad magic number)")
    code, ndim = content[2], content[3]
    if code not in _DTYPES:
        raise DataError(f"{source}: unknown IDX element type 0x{code:02x}")
    header = 4 + 4 * ndim
    if len(content) < header:
        raise DataError(f"{source}: truncated IDX header")
    shape = tuple(int.from_bytes(content[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_DTYPES[code])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(content) - header != expected:
        raise DataError(
            f"{source}: IDX header promises {expected} bytes of data for shape {shape}, "
            f"found {len(content) - header}"
        )
    array = np.frombuffer(content, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))  # a writable, native-order copy


def read_idx_file(path: Path) -> np.ndarray:
    """Read an IDX file, gunzipping it as a stream when its name ends with ``.gz``.

    Raises:
        DataError: naming the file, when it cannot be read or decompressed, its header is
            wrong, its data is shorter or longer than the header says, or the header promises
            more than ``ATHANOR_MAX_ARCHIVE_MB``.
    """
    path = Path(path)
    gzipped = path.name.endswith(".gz")
    try:
        with gzip.open(path, "rb") if gzipped else path.open("rb") as handle:
            return _read_idx_stream(handle, str(path))
    except (OSError, EOFError, zlib.error) as exc:
        what = "a readable gzip file" if gzipped else "readable"
        raise DataError(f"{path}: not {what} ({exc})") from None


def _read_idx_stream(handle: BinaryIO, source: str) -> np.ndarray:
    start = handle.read(4)
    if len(start) < 4 or start[0] != 0 or start[1] != 0:
        raise DataError(f"{source}: not an IDX file (bad magic number)")
    ndim = start[3]
    dims = handle.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataError(f"{source}: truncated IDX header")
    code = start[2]
    if code not in _DTYPES:
        raise DataError(f"{source}: unknown IDX element type 0x{code:02x}")
    shape = tuple(int.from_bytes(dims[4 * i : 4 * i + 4], "big") for i in range(ndim))
    expected = int(np.prod(shape, dtype=object)) * np.dtype(_DTYPES[code]).itemsize
    limit = current_limits().max_archive_bytes
    if expected > limit:
        raise DataError(
            f"{source}: the IDX header promises {expected:,} bytes for shape {shape}, more "
            f"than the limit of {limit:,} ({ENVIRONMENT['max_archive_mb']})"
        )
    data = handle.read(expected + 1)  # one more byte tells a longer file
    return parse_idx(start + dims + data, source)
