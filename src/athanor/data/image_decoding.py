"""The one place image files and bytes are decoded, within limits checked before the work.

Every image Athanor reads from a user (dataset import, prediction inputs, uploads to the
servers) goes through :func:`decoded_image`, which

- lets Pillow try only the formats of :data:`IMAGE_FORMATS` (so a ``.png`` that is really
  PostScript never reaches Pillow's Ghostscript plugin),
- reads the width and height from the header and refuses an image of more pixels than
  ``ATHANOR_MAX_IMAGE_PIXELS`` (default 50 megapixels, :mod:`athanor.spec.limits`) with
  :class:`ImageTooLarge` naming the file and the limit, before any pixel is decoded, and
- holds a share of a process-wide pixel budget (twice the limit) while the image is decoded
  and converted, so concurrent requests to a server decode a bounded number of pixels at once.
"""

from __future__ import annotations

import io
import re
import struct
import threading
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from athanor.errors import DataError, ResourceLimitError
from athanor.spec.limits import ENVIRONMENT, current_limits

if TYPE_CHECKING:
    from PIL import Image

IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP")
"""The formats Pillow may decode; any other content is 'not a readable image'."""
FORMAT_NAMES = "PNG, JPEG, BMP, WebP or GIF"
LIMIT_VARIABLE = ENVIRONMENT["max_image_pixels"]

# What Pillow's plugins raise for damaged files (besides OSError and its subclasses).
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, struct.error, zlib.error)


class ImageTooLarge(ResourceLimitError, DataError):
    """An image whose header claims more pixels than the limit: names the file and the limit."""


class _PixelBudget:
    """Pixels being decoded in this process; a decode waits while others hold the budget."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._in_flight = 0

    @contextmanager
    def reserve(self, pixels: int, capacity: int) -> Iterator[None]:
        with self._changed:
            # Alone, any image within the limit may go (so one never waits for ever).
            while self._in_flight and self._in_flight + pixels > capacity:
                self._changed.wait()
            self._in_flight += pixels
        try:
            yield
        finally:
            with self._changed:
                self._in_flight -= pixels
                self._changed.notify_all()

    @property
    def in_flight(self) -> int:
        return self._in_flight


DECODE_BUDGET = _PixelBudget()


def _pillow() -> type:
    from PIL import Image

    # decoded_image checks the size itself, with a message naming the file; Pillow's own
    # warning between its limit and twice its limit would only repeat that. (Added on each
    # call: an identical filter replaces the earlier one, and test runners reset filters.)
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
    return Image  # type: ignore[return-value]


@contextmanager
def decoded_image(
    source: Path | str | bytes | bytearray, name: str | None = None
) -> Iterator[Image.Image]:
    """Open, check and decode an image file or bytes; yields the loaded PIL image (its first
    frame), which is closed when the block ends.

    Convert and resize inside the ``with`` block: the pixels stay counted against the
    process's decode budget until it ends.

    Args:
        source: a file path, or the bytes of an image (an upload).
        name: what messages call the image (default: the path, or ``image``).

    Raises:
        ImageTooLarge: the header claims more pixels than ``ATHANOR_MAX_IMAGE_PIXELS``.
        DataError: not an image of :data:`IMAGE_FORMATS`, or a damaged one, naming it.
    """
    Image = _pillow()  # the module, as Pillow names it
    limit = current_limits().max_image_pixels
    name = name or (str(source) if isinstance(source, Path | str) else "image")
    # Pillow refuses by itself above twice this; below that, the check here decides.
    Image.MAX_IMAGE_PIXELS = limit
    stream = io.BytesIO(source) if isinstance(source, bytes | bytearray) else Path(source)
    with _opened_header(Image, stream, name, limit) as image:
        width, height = image.size
        with DECODE_BUDGET.reserve(max(1, width * height), 2 * limit):
            try:
                image.load()
            except Image.DecompressionBombError:
                raise _too_large(name, "too many pixels", limit) from None
            except _DECODE_ERRORS as exc:
                raise DataError(f"{name}: not a readable image ({_reason(exc)})") from None
            yield image  # outside the try: the caller's own errors are not rewritten


def image_size(source: Path | str, name: str | None = None) -> tuple[int, int]:
    """The ``(width, height)`` of an image file from its header alone (no pixel is decoded).

    Only the formats of :data:`IMAGE_FORMATS` are tried, and the size is checked against the
    pixel limit, as :func:`decoded_image` does.

    Raises:
        ImageTooLarge: the header claims more pixels than ``ATHANOR_MAX_IMAGE_PIXELS``.
        DataError: not an image of :data:`IMAGE_FORMATS`, or a damaged header, naming it.
    """
    Image = _pillow()
    limit = current_limits().max_image_pixels
    name = name or str(source)
    Image.MAX_IMAGE_PIXELS = limit
    with _opened_header(Image, Path(source), name, limit) as image:
        return image.size


def _opened_header(Image: Any, stream: io.BytesIO | Path, name: str, limit: int) -> Any:
    """The image opened from its header, its size checked against ``limit``; no pixel is
    decoded yet. Pillow's errors become ours, naming the image."""
    try:
        image = Image.open(stream, formats=IMAGE_FORMATS)
    except Image.DecompressionBombError as exc:
        claimed = re.search(r"\((\d+) pixels\)", str(exc))
        pixels = f"{int(claimed.group(1)):,} pixels" if claimed else "too many pixels"
        raise _too_large(name, pixels, limit) from None
    except Image.UnidentifiedImageError:
        raise DataError(f"{name}: not a readable image ({FORMAT_NAMES} expected)") from None
    except FileNotFoundError:
        raise DataError(f"{name}: no such file") from None
    except _DECODE_ERRORS as exc:
        raise DataError(f"{name}: not a readable image ({_reason(exc)})") from None
    width, height = image.size
    if width * height > limit:
        image.close()
        raise _too_large(name, f"{width}x{height} = {width * height:,} pixels", limit)
    return image


def check_image_size(width: int, height: int, name: str) -> None:
    """Refuse an image of ``width`` x ``height`` above the pixel limit (an already decoded
    image given by a caller, e.g. a PIL image passed to a predictor).

    Raises:
        ImageTooLarge: naming ``name`` and the limit.
    """
    limit = current_limits().max_image_pixels
    if width * height > limit:
        raise _too_large(name, f"{width}x{height} = {width * height:,} pixels", limit)


def _too_large(name: str, pixels: str, limit: int) -> ImageTooLarge:
    return ImageTooLarge(
        f"{name}: the image has {pixels}, more than the limit of {limit:,} pixels "
        f"(set {LIMIT_VARIABLE} to change it)"
    )


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
