"""The IDX format of MNIST-style datasets (LeCun's ``*-idx3-ubyte`` files)."""

from __future__ import annotations

import numpy as np

from athanor.errors import DataError

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
