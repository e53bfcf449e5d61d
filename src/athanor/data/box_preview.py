"""A grid of a detection dataset's images with their boxes and class names drawn (PNG)."""

from __future__ import annotations

import colorsys
import io
import math
import random

from athanor.data.boxes import BoxDataset
from athanor.data.image_decoding import decoded_image

CELL = 256
"""Each image is fitted into a square of this many pixels."""
MAX_COUNT = 64


def class_colour(index: int) -> tuple[int, int, int]:
    """A fixed, distinct colour for a class index (hues spread by the golden ratio)."""
    hue = (index * 0.618033988749895) % 1.0
    red, green, blue = colorsys.hsv_to_rgb(hue, 0.85, 0.95)
    return round(red * 255), round(green * 255), round(blue * 255)


def preview_png(dataset: BoxDataset, count: int = 16, seed: int = 0) -> bytes:
    """``count`` images chosen at random (by ``seed``; all when fewer), each fitted into a
    :data:`CELL` square with its boxes outlined in its class's colour and named, as PNG bytes.

    Raises:
        DataError: an image cannot be read (naming it) or exceeds the pixel limit.
    """
    from PIL import Image, ImageDraw, ImageFont

    count = max(1, min(count, MAX_COUNT))
    total = len(dataset.images)
    chosen = sorted(random.Random(seed).sample(range(total), min(count, total)))
    columns = max(1, math.ceil(math.sqrt(len(chosen))))
    rows = max(1, math.ceil(len(chosen) / columns))
    grid = Image.new("RGB", (columns * CELL, rows * CELL), (32, 32, 32))
    font = ImageFont.load_default()
    for position, index in enumerate(chosen):
        image = dataset.images[index]
        with decoded_image(dataset.path_of(image), image.file) as decoded:
            picture = decoded.convert("RGB")
            picture.thumbnail((CELL, CELL))
        scale_x = picture.width / image.width
        scale_y = picture.height / image.height
        draw = ImageDraw.Draw(picture)
        for box in image.boxes:
            colour = class_colour(box.label)
            corners = (
                box.x0 * scale_x,
                box.y0 * scale_y,
                max(box.x0 * scale_x, box.x1 * scale_x - 1),
                max(box.y0 * scale_y, box.y1 * scale_y - 1),
            )
            draw.rectangle(corners, outline=colour, width=2)
            name = dataset.classes[box.label] if box.label < len(dataset.classes) else "?"
            left, top, right, bottom = draw.textbbox((0, 0), name, font=font)
            label_y = max(0.0, corners[1] - (bottom - top) - 2)
            draw.rectangle(
                (corners[0], label_y, corners[0] + right - left + 3, label_y + bottom - top + 2),
                fill=colour,
            )
            draw.text((corners[0] + 1, label_y - top + 1), name, fill=(0, 0, 0), font=font)
        column, row = position % columns, position // columns
        offset = ((CELL - picture.width) // 2, (CELL - picture.height) // 2)
        grid.paste(picture, (column * CELL + offset[0], row * CELL + offset[1]))
    buffer = io.BytesIO()
    grid.save(buffer, format="PNG")
    return buffer.getvalue()
