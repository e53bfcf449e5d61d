"""Drawing small grey images in a terminal as text."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_RAMP = " .:-=+*#%@"


def render_images(
    images: Sequence[np.ndarray], *, width: int = 14, height: int = 10, gap: int = 2
) -> list[str]:
    """Lines of text drawing ``images`` (``[H, W]``, ``[C, H, W]``) side by side.

    Each image is area-averaged down to ``width`` x ``height`` characters (a character is
    about twice as tall as wide, hence fewer rows than columns) and drawn with a ten-step
    brightness ramp: plain text, so it reads the same in any terminal and in logs.
    """
    blocks = [_draw(np.asarray(image), width, height) for image in images]
    return [(" " * gap).join(block[row] for block in blocks) for row in range(height)]


def _draw(image: np.ndarray, width: int, height: int) -> list[str]:
    from PIL import Image

    if image.ndim == 3:
        image = image.mean(axis=0)
    image = image.astype(np.float64)
    low, high = float(image.min()), float(image.max())
    scaled = (image - low) / (high - low) if high > low else np.zeros_like(image)
    small = Image.fromarray((scaled * 255).astype(np.uint8)).resize(
        (width, height), Image.Resampling.BOX
    )
    values = np.asarray(small, dtype=np.float64) / 255.0
    peak = values.max()
    if peak > 0:
        values = values / peak
    indices = np.minimum((values * len(_RAMP)).astype(int), len(_RAMP) - 1)
    return ["".join(_RAMP[i] for i in row) for row in indices]
