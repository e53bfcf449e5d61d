"""Save a grid of generated images during adversarial training."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from athanor.training.callbacks.base import Callback
from athanor.training.state import TrainState


def to_pixels(images: torch.Tensor, preprocessing: list[dict[str, Any]]) -> np.ndarray:
    """Undo image normalization (saved preprocessing steps) into ``uint8 [N, C, H, W]``.

    Steps it does not know fall back to stretching each image to the full range.
    """
    x = images.detach().float().cpu()
    for step in reversed(preprocessing):
        kind = step.get("type")
        if kind == "standardize":
            shape = (1, -1, 1, 1)
            x = x * torch.tensor(step["std"]).view(shape) + torch.tensor(step["mean"]).view(shape)
        elif kind == "minmax":
            if step.get("symmetric"):
                x = (x + 1) / 2
            low = torch.tensor(step["low"]).view(1, -1, 1, 1)
            x = x * (torch.tensor(step["high"]).view(1, -1, 1, 1) - low) + low
        elif kind == "to_float":
            x = x / step["scale"]
        else:
            low = x.amin(dim=(1, 2, 3), keepdim=True)
            high = x.amax(dim=(1, 2, 3), keepdim=True)
            x = (x - low) / (high - low).clamp(min=1e-8) * 255.0
            break
    return x.round().clamp(0, 255).to(torch.uint8).numpy()


def image_grid(pixels: np.ndarray, columns: int, gap: int = 2) -> np.ndarray:
    """Tile ``uint8 [N, C, H, W]`` images into one ``[H', W', C]`` picture with gaps."""
    count, channels, height, width = pixels.shape
    rows = -(-count // columns)
    grid = np.zeros(
        (rows * (height + gap) + gap, columns * (width + gap) + gap, channels), dtype=np.uint8
    )
    for index in range(count):
        row, column = divmod(index, columns)
        top, left = gap + row * (height + gap), gap + column * (width + gap)
        grid[top : top + height, left : left + width] = pixels[index].transpose(1, 2, 0)
    return grid


class GanSamples(Callback):
    """Every ``every`` epochs, write ``epoch-NNN.png``: the generator's images for a fixed
    set of noise vectors (drawn once from their own seeded generator, so the training random
    stream is untouched and epochs can be compared image by image)."""

    def __init__(
        self,
        folder: Path,
        preprocessing: list[dict[str, Any]],
        *,
        every: int = 1,
        grid: int = 8,
        seed: int = 0,
    ) -> None:
        self.folder = Path(folder)
        self.preprocessing = preprocessing
        self.every = every
        self.grid = grid
        self.seed = seed
        self.written: list[Path] = []

    def on_epoch_end(self, trainer, state: TrainState, metrics: dict[str, float]) -> None:
        epoch = state.epoch + 1
        if not self.every or epoch % self.every:
            return
        module = trainer.module
        generator = torch.Generator().manual_seed(self.seed)
        noise = torch.randn(self.grid * self.grid, module.latent_dim, generator=generator)
        was_training = module.generator.training
        module.generator.eval()
        with torch.no_grad():
            images = module.generator(noise.to(trainer.device))
        module.generator.train(was_training)
        picture = image_grid(to_pixels(images, self.preprocessing), self.grid)
        from PIL import Image

        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"epoch-{epoch:03d}.png"
        Image.fromarray(picture[:, :, 0] if picture.shape[2] == 1 else picture).save(path)
        self.written.append(path)
        state.reports["samples"] = [str(p) for p in self.written]
