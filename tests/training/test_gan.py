"""Adversarial training on real MNIST digits: alternating steps, logged D(x) and D(G(z)),
sample grids, and exact resume with two optimizers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from athanor.data.batching import TensorSplit
from athanor.data.prepare import Prepared
from athanor.data.preprocessing import default_preprocessor
from athanor.data.schema import InputSchema, Schema
from athanor.errors import UserError
from athanor.spec.train import TrainSpec
from athanor.training import Trainer
from athanor.training.callbacks import Callback
from athanor.training.callbacks.gan_samples import GanSamples, to_pixels


class TinyGan(nn.Module):
    """The interface the dcgan template provides: generator, discriminator, latent_dim."""

    def __init__(self, latent_dim: int = 16) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.generator = nn.Sequential(
            nn.Linear(latent_dim, 128),
            nn.ReLU(),
            nn.Linear(128, 28 * 28),
            nn.Tanh(),
            nn.Unflatten(1, (1, 28, 28)),
        )
        self.discriminator = nn.Sequential(
            nn.Flatten(), nn.Linear(28 * 28, 128), nn.LeakyReLU(0.2), nn.Linear(128, 1)
        )

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        return self.generator(noise)


def digits_for_generation(mnist_raw, count: int = 2048) -> Prepared:
    raw = mnist_raw.x[:count]
    # Pixels in [0, 1], as the generator's sigmoid produces them.
    preprocessor = default_preprocessor("image", "minmax", raw.dtype).fit(torch.from_numpy(raw))
    x = preprocessor.transform(raw)
    schema = Schema(task="generation", input=InputSchema(kind="image", shape=[1, 28, 28]))
    return Prepared(TensorSplit(x, torch.zeros(len(x))), None, None, schema, preprocessor)


def spec(**train) -> TrainSpec:
    return TrainSpec.model_validate(
        {
            "epochs": 3,
            "batch_size": 64,
            "optimizer": {"type": "adam", "lr": 2e-4, "betas": [0.5, 0.999]},
            **train,
        }
    )


def test_alternating_steps_and_logged_values(mnist_raw, tmp_path: Path) -> None:
    prepared = digits_for_generation(mnist_raw)
    torch.manual_seed(0)
    model = TinyGan()

    class Steps(Callback):
        def __init__(self) -> None:
            self.generator_moves = 0
            self.before = None

        def on_batch_start(self, trainer, state) -> None:
            self.before = next(trainer.module.generator.parameters()).detach().clone()

        def on_batch_end(self, trainer, state, loss) -> None:
            after = next(trainer.module.generator.parameters())
            self.generator_moves += int(not torch.equal(self.before, after))

    steps = Steps()
    samples = GanSamples(tmp_path / "samples", prepared.preprocessor.to_json(), grid=4)
    trainer = Trainer(spec(gan={"d_steps": 2}), callbacks=[steps, samples])
    result = trainer.fit(model, prepared)
    batches = -(-2048 // 64)
    assert result.steps == 3 * batches
    assert steps.generator_moves == 3 * batches // 2  # one generator step per two batches
    last = result.history[-1]
    assert set(last) >= {"train_d_loss", "train_g_loss", "train_d_real", "train_d_fake"}
    assert 0.0 < last["train_d_fake"] < last["train_d_real"] < 1.0
    pictures = sorted((tmp_path / "samples").glob("epoch-*.png"))
    assert [p.name for p in pictures] == ["epoch-001.png", "epoch-002.png", "epoch-003.png"]
    picture = np.asarray(Image.open(pictures[-1]))
    assert picture.shape == (4 * 30 + 2, 4 * 30 + 2)  # 4x4 digits of 28 px with 2 px gaps
    assert picture.std() > 10  # not a blank image


def test_resume_restores_both_optimizers(mnist_raw, tmp_path: Path) -> None:
    prepared = digits_for_generation(mnist_raw, count=640)
    train = spec(epochs=2, checkpoint={"every_steps": 3, "keep": 100})
    torch.manual_seed(0)
    model = TinyGan()
    Trainer(train, seed=5, checkpoint_dir=tmp_path / "a").fit(model, prepared)
    expected = model.state_dict()
    middle = tmp_path / "a" / "step-000000012"  # epoch 2, batch 2 of 10
    torch.manual_seed(0)
    again = TinyGan()
    Trainer(train, seed=5, checkpoint_dir=tmp_path / "b").fit(again, prepared, resume_from=middle)
    for name, tensor in again.state_dict().items():
        assert torch.equal(tensor, expected[name]), name


def test_each_optimizer_is_scheduled_from_its_own_rate(mnist_raw) -> None:
    class Rates(Callback):
        def __init__(self) -> None:
            self.rates: list[tuple[float, float]] = []

        def on_after_optimizer_step(self, trainer, state) -> None:
            loop = trainer.loop
            pair = (loop.optimizer.param_groups[0]["lr"], loop.d_optimizer.param_groups[0]["lr"])
            self.rates.append(pair)

    prepared = digits_for_generation(mnist_raw, count=320)
    train = spec(
        epochs=2, gan={"discriminator_lr": 1e-3}, schedule={"type": "cosine", "min_lr": 1e-5}
    )
    seen = Rates()
    torch.manual_seed(0)
    Trainer(train, callbacks=[seen]).fit(TinyGan(), prepared)
    steps = 2 * 5
    generator, discriminator = zip(*seen.rates, strict=True)
    # after step s the rate is min_lr + (base - min_lr) * (1 + cos(pi * s / steps)) / 2
    for rates, base in ((generator, 2e-4), (discriminator, 1e-3)):
        expected = [
            1e-5 + (base - 1e-5) * 0.5 * (1 + math.cos(math.pi * s / steps))
            for s in range(1, steps + 1)
        ]
        np.testing.assert_allclose(rates, expected, rtol=1e-9)


def test_generation_needs_a_gan(mnist_raw) -> None:
    prepared = digits_for_generation(mnist_raw, count=128)
    with pytest.raises(UserError, match="needs a network with a generator and a discriminator"):
        Trainer(spec()).fit(nn.Sequential(nn.Flatten(), nn.Linear(784, 1)), prepared)


def test_pixels_undo_the_normalization(mnist_raw) -> None:
    raw = mnist_raw.x[:8]
    preprocessor = default_preprocessor("image", "standard", raw.dtype).fit(torch.from_numpy(raw))
    back = to_pixels(preprocessor.transform(raw), preprocessor.to_json())
    assert np.abs(back.astype(int) - raw.astype(int)).max() <= 1
