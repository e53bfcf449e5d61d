"""Box-preserving augmentation of detection batches: flip, zoom and shift move the boxes too.

Each image gets one affine map (mirror left-right, zoom about the center, shift by up to
``crop`` pixels), applied to its pixels with ``grid_sample`` and to its boxes exactly. Boxes
mostly pushed out of the image are dropped (class -1); the rest are clipped to it. Random
numbers come from the batch's generator (:func:`athanor.data.augment.batch_generator`), so
a resumed run sees the same batches. Rotation would not keep boxes tight and is refused
when detection data is prepared.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from athanor.data.augment import augment_images
from athanor.data.box_targets import PADDING, valid_rows

KEPT_AREA = 0.4
"""A box keeps at least this share of its area inside the image, or it is dropped."""
MIN_SIDE = 2.0
"""Pixels a kept box spans at least, in each direction."""


def augment_boxed_batch(
    x: torch.Tensor, y: torch.Tensor, options: dict[str, Any], generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images ``[B, C, H, W]`` and box targets ``[B, M, 5]`` (input pixels) augmented alike.

    Args:
        options: ``flip``, ``scale`` (zoom in ``[1 - s, 1 + s]``), ``crop`` (shift up to that
            many pixels each way) and ``color_jitter``, as in ``data.image.augment``.
    """
    batch, _channels, height, width = x.shape
    flip = torch.ones(batch)
    if options.get("flip"):
        flip = torch.where(torch.rand(batch, generator=generator) < 0.5, -1.0, 1.0)
    zoom = torch.ones(batch)
    spread = float(options.get("scale") or 0.0)
    if spread:
        zoom = 1 - spread + torch.rand(batch, generator=generator) * 2 * spread
    shift = torch.zeros(batch, 2)
    crop = int(options.get("crop") or 0)
    if crop:
        shift = torch.randint(-crop, crop + 1, (batch, 2), generator=generator).float()
    if options.get("flip") or spread or crop:
        x, y = _affine(x, y, flip, zoom, shift, height, width)
    jitter = float(options.get("color_jitter") or 0.0)
    if jitter:
        x = augment_images(x, {"color_jitter": jitter}, generator)
    return x, y


def _affine(
    x: torch.Tensor,
    y: torch.Tensor,
    flip: torch.Tensor,
    zoom: torch.Tensor,
    shift: torch.Tensor,
    height: int,
    width: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    # Normalized coordinates (-1..1 across the image): output u = zoom * flip * v + t for an
    # input point v, so grid_sample, which maps outputs to inputs, takes the inverse map.
    t = torch.stack([2 * shift[:, 0] / width, 2 * shift[:, 1] / height], 1)
    zero = torch.zeros_like(zoom)
    theta = torch.stack(
        [
            torch.stack([flip / zoom, zero, -flip * t[:, 0] / zoom], 1),
            torch.stack([zero, 1 / zoom, -t[:, 1] / zoom], 1),
        ],
        1,
    ).to(device=x.device, dtype=x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    flip, zoom, t = (v.to(y.device, y.dtype) for v in (flip, zoom, t))
    valid = valid_rows(y)
    xs = (2 * y[..., [1, 3]] / width - 1) * (zoom * flip)[:, None, None] + t[:, None, None, 0]
    ys = (2 * y[..., [2, 4]] / height - 1) * zoom[:, None, None] + t[:, None, None, 1]
    xs = (xs + 1) * width / 2
    ys = (ys + 1) * height / 2
    x0, x1 = xs.min(-1).values, xs.max(-1).values  # a mirrored box swaps its sides
    y0, y1 = ys[..., 0], ys[..., 1]
    area = (x1 - x0) * (y1 - y0)
    cx0, cx1 = x0.clamp(0, width), x1.clamp(0, width)
    cy0, cy1 = y0.clamp(0, height), y1.clamp(0, height)
    kept_area = (cx1 - cx0).clamp(min=0) * (cy1 - cy0).clamp(min=0)
    keep = (
        valid & (kept_area >= KEPT_AREA * area) & (cx1 - cx0 >= MIN_SIDE) & (cy1 - cy0 >= MIN_SIDE)
    )
    boxes = torch.stack([y[..., 0], cx0, cy0, cx1, cy1], -1)
    return x, torch.where(keep[..., None], boxes, torch.full_like(boxes, PADDING))
