"""Random image augmentation of a batch, reproducible from (seed, epoch, batch index).

Every random number is drawn on the CPU from a generator seeded with the run's seed, the
epoch and the batch's index, then applied on the batch's device. The same three numbers
always give the same augmented batch, so a run resumed mid-epoch sees the same images.
Augmentation works on preprocessed images (after normalization): padding and rotation fill
with 0, the training mean of each channel.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F


def batch_generator(seed: int, epoch: int, index: int) -> torch.Generator:
    """A CPU generator for one batch: a pure function of its three arguments."""
    generator = torch.Generator(device="cpu")
    mixed = ((seed * 1_000_003 + epoch) * 1_000_033 + index + 7919) % (2**63 - 1)
    generator.manual_seed(mixed)
    return generator


def augment_images(
    x: torch.Tensor, options: dict[str, Any], generator: torch.Generator
) -> torch.Tensor:
    """``x`` (``[B, C, H, W]`` floats) randomly cropped, flipped, zoomed, rotated, jittered.

    Args:
        x: a batch of preprocessed images.
        options: ``crop`` (pixels of padding), ``flip`` (bool), ``scale`` (zoom range),
            ``rotation`` (degrees), ``color_jitter`` (factor range), as in the
            ``data.image.augment`` spec.
        generator: the batch's generator (see :func:`batch_generator`).
    """
    batch, _channels, height, width = x.shape
    device = x.device
    crop = int(options.get("crop") or 0)
    if crop:
        padded = F.pad(x, (crop, crop, crop, crop))
        dy = torch.randint(0, 2 * crop + 1, (batch,), generator=generator).to(device)
        dx = torch.randint(0, 2 * crop + 1, (batch,), generator=generator).to(device)
        rows = (dy[:, None] + torch.arange(height, device=device)[None, :])[:, None, :, None]
        cols = (dx[:, None] + torch.arange(width, device=device)[None, :])[:, None, None, :]
        samples = torch.arange(batch, device=device)[:, None, None, None]
        channel = torch.arange(x.shape[1], device=device)[None, :, None, None]
        x = padded[samples, channel, rows, cols]
    if options.get("flip"):
        flip = (torch.rand(batch, generator=generator) < 0.5).to(device)
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    zoom = float(options.get("scale") or 0.0)
    if zoom:
        factors = (1 - zoom + torch.rand(batch, generator=generator) * 2 * zoom).to(device)
        zero = torch.zeros_like(factors)
        theta = torch.stack(
            [torch.stack([1 / factors, zero, zero], 1), torch.stack([zero, 1 / factors, zero], 1)],
            1,
        ).to(dtype=x.dtype)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    degrees = float(options.get("rotation") or 0.0)
    if degrees:
        angles = (torch.rand(batch, generator=generator) * 2 - 1) * math.radians(degrees)
        cos, sin = torch.cos(angles), torch.sin(angles)
        zero = torch.zeros_like(cos)
        theta = torch.stack(
            [torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1
        ).to(device=device, dtype=x.dtype)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    jitter = float(options.get("color_jitter") or 0.0)
    if jitter:
        low, span = 1.0 - jitter, 2.0 * jitter
        brightness = (low + torch.rand(batch, generator=generator) * span).to(device, x.dtype)
        contrast = (low + torch.rand(batch, generator=generator) * span).to(device, x.dtype)
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) * contrast[:, None, None, None] + mean * brightness[:, None, None, None]
    return x


Augmenter = Callable[
    [torch.Tensor, torch.Tensor, dict[str, Any], torch.Generator],
    tuple[torch.Tensor, torch.Tensor],
]
"""``(x, y, options, generator) -> (x, y)``: one training batch augmented."""


def augment_batch(
    x: torch.Tensor, y: torch.Tensor, options: dict[str, Any], generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images augmented by :func:`augment_images`; targets kept (a reconstruction target,
    ``y is x``, becomes the augmented input)."""
    augmented = augment_images(x, options, generator)
    return augmented, (augmented if y is x else y)


def augmentation_active(options: dict[str, Any] | None) -> bool:
    """Whether ``options`` asks for any augmentation at all."""
    return bool(options) and any(
        options.get(key) for key in ("crop", "flip", "rotation", "color_jitter", "scale")
    )
