"""A detector's predictions: decoded boxes with class, score and ``xyxy`` pixels.

The network (and its ONNX export) gives raw head maps; decoding them into boxes
(:func:`athanor.nets.detection.decode`) happens here, for the CLI, the Python API and the
model server alike. Boxes are in the pixels of the image as given when its size is known
(files, PIL images), else in the pixels of the model's input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from athanor.data.schema import Schema
from athanor.nets.detection import decode

MIN_SCORE = 0.3
"""Boxes scoring lower are left out unless a threshold says otherwise."""


def detected_boxes(
    schema: Schema,
    maps: np.ndarray,
    *,
    threshold: float = MIN_SCORE,
    sizes: list[tuple[int, int] | None] | None = None,
) -> list[list[dict[str, Any]]]:
    """Each image's boxes, best first: ``{"label", "class", "score", "xyxy"}``.

    Args:
        schema: the model's schema (class names, input size).
        maps: the network's raw output ``[N, classes + 4, h, w]``.
        threshold: the lowest score kept.
        sizes: each image's own ``(width, height)``, to scale boxes back to it (None: the
            model's input pixels).
    """
    found = decode(torch.from_numpy(np.ascontiguousarray(maps)))
    classes = schema.classes or []
    _, height, width = schema.input.shape
    out = []
    for image in range(len(maps)):
        size = sizes[image] if sizes is not None else None
        scale = np.array(
            [size[0] / width, size[1] / height] * 2 if size else [1.0] * 4, dtype=np.float64
        )
        boxes = []
        for score, label, box in zip(
            found.scores[image].tolist(),
            found.labels[image].tolist(),
            found.boxes[image].double().numpy(),
            strict=True,
        ):
            if score < threshold:
                break  # scores come best first
            boxes.append(
                {
                    "label": classes[label] if label < len(classes) else str(label),
                    "class": int(label),
                    "score": round(float(score), 6),
                    "xyxy": [round(float(v), 2) for v in box * scale],
                }
            )
        out.append(boxes)
    return out


def source_size(item: Any) -> tuple[int, int] | None:
    """``(width, height)`` of an image file or PIL image (None for arrays and the like)."""
    if isinstance(item, str | Path):
        from PIL import Image

        try:
            with Image.open(item) as image:
                return image.size
        except OSError:
            return None
    size = getattr(item, "size", None)
    if type(item).__module__.startswith("PIL.") and isinstance(size, tuple):
        return size
    return None


def uploaded_sizes(uploads: list[bytes] | None, count: int) -> list[tuple[int, int]] | None:
    """Each uploaded image's ``(width, height)`` from its header, when the request's
    ``count`` samples are exactly these images (else ``None``: boxes stay in the model's
    input pixels). The images were decoded, within the pixel limit, before this is asked."""
    if not uploads or len(uploads) != count:
        return None
    from io import BytesIO

    from PIL import Image

    sizes = []
    for data in uploads:
        try:
            with Image.open(BytesIO(data)) as image:
                sizes.append(image.size)
        except (OSError, ValueError, Image.DecompressionBombError):
            return None
    return sizes


def draw_boxes(image_path: Path, boxes: list[dict[str, Any]], output: Path) -> Path:
    """Save ``image_path`` with its boxes, class names and scores drawn, as a PNG."""
    from PIL import Image, ImageDraw

    palette = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6"]
    with Image.open(image_path) as source:
        image = source.convert("RGB")
    scale = max(1, 256 // max(1, min(image.size)))  # small images are enlarged to be legible
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)
    draw = ImageDraw.Draw(image)
    for box in boxes:
        colour = palette[box["class"] % len(palette)]
        x0, y0, x1, y1 = (v * scale for v in box["xyxy"])
        draw.rectangle((x0, y0, x1, y1), outline=colour, width=2)
        draw.text((x0 + 2, max(0, y0 - 11)), f"{box['label']} {box['score']:.2f}", fill=colour)
    image.save(output, format="PNG")
    return output
