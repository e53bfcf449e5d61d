"""Images for training: one size and channel count, in memory or read lazily when streamed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from athanor.data.images import ImageCollection, fit_image
from athanor.data.prepare._common import Pools, scaler
from athanor.data.preprocessing import Step, ToFloat
from athanor.spec.data import DataSpec

STREAM_FIT_SAMPLES = 4096
"""Training images sampled (seeded) to fit scaling when a split is streamed."""


def image_background(images: np.ndarray) -> str:
    """``dark`` or ``light``: the mean brightness of the images' border pixels (uint8 scale)."""
    border = np.concatenate(
        [
            images[:, :, 0, :].ravel(),
            images[:, :, -1, :].ravel(),
            images[:, :, :, 0].ravel(),
            images[:, :, :, -1].ravel(),
        ]
    )
    scale = 1.0 if images.dtype == np.uint8 else 255.0
    return "light" if float(border.mean()) * scale > 127.5 else "dark"


def image_steps(spec: DataSpec, task: str) -> list[Step]:
    """Bytes to ``[0, 1]`` floats, then the scaling ``data.normalize`` asks for, per channel."""
    return [ToFloat(1 / 255), *scaler(spec.normalize, "channel", task)]


class ImageLoader:
    """Reads and resizes images of one split by index (picklable for DataLoader workers)."""

    def __init__(self, images: Any, size: tuple[int, int], channels: int) -> None:
        self.images, self.size, self.channels = images, size, channels

    def __call__(self, samples: np.ndarray) -> torch.Tensor:
        out = np.empty((len(samples), self.channels, *self.size), dtype=np.uint8)
        positions = np.asarray(samples).tolist()
        images = (
            self.images.read(positions)
            if isinstance(self.images, ImageCollection)
            else (np.asarray(self.images[sample]) for sample in positions)
        )
        for row, image in enumerate(images):
            out[row] = fit_image(image, self.size, self.channels)
        return torch.from_numpy(out)


def sized_images(
    pools: Pools, spec: DataSpec, seed: int
) -> tuple[Pools, dict[str, Callable], dict[str, Any]]:
    """Pick the image size and channels (from the training split) and resize every split.

    Returns the pools as dense ``uint8`` arrays (in memory) or, when the data is to be
    streamed, lazily reading loaders, plus the chosen options.
    """
    train = pools["train"][0]
    if isinstance(train, ImageCollection):
        size = tuple(spec.image.size) if spec.image.size else train.common_size()
        channels = spec.image.channels or train.channels
    else:
        size = tuple(spec.image.size) if spec.image.size else tuple(train.shape[2:])
        channels = spec.image.channels or int(train.shape[1])
    size = (int(size[0]), int(size[1]))
    samples = sum(len(y) for _, y in pools.values())
    megabytes = samples * channels * size[0] * size[1] * 4 / 2**20
    mode = spec.batching.mode
    stream = mode == "stream" or (mode == "auto" and megabytes > spec.batching.memory_limit_mb)
    options: dict[str, Any] = {"size": list(size), "channels": channels}
    if stream:
        loaders = {name: ImageLoader(x, size, channels) for name, (x, _) in pools.items()}
        count = len(pools["train"][1])
        probe = np.random.default_rng(seed + 3).choice(count, size=min(count, 256), replace=False)
        options["background"] = image_background(loaders["train"](np.sort(probe)).numpy())
        return pools, loaders, options
    sized: Pools = {}
    for name, (x, y) in pools.items():
        if isinstance(x, ImageCollection):
            dense = x.resized(size, channels)
        elif tuple(x.shape[1:]) != (channels, *size):
            dense = np.stack([fit_image(image, size, channels) for image in x]) if len(x) else x
        else:
            dense = x
        sized[name] = (dense, y)
    options["background"] = image_background(sized["train"][0])
    return sized, {}, options
