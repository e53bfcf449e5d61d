"""Hostile inputs that are small on disk and huge once decoded, for the limit tests."""

from __future__ import annotations

import struct
import zlib


def png_bomb(width: int = 20_000, height: int = 20_000) -> bytes:
    """A valid 1-bit PNG of ``width`` x ``height`` black pixels: about 48 KB for 20000x20000,
    400 megapixels (1.2 GB as RGB) once decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nnewpath 0 0 moveto showpage\n"
"""Encapsulated PostScript: Pillow hands it to Ghostscript when allowed to."""

BILLION_LAUGHS = "\n".join(
    [
        "name: laughs",
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]"
            for prev, name in zip("abcdef", "bcdefg", strict=True)
        ),
    ]
)
"""Under 300 bytes of YAML standing for 9**7 (4.8 million) strings once aliases expand."""
