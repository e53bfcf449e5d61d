"""DCGAN: generator and discriminator sized to the images, the interface the GAN loop uses."""

from __future__ import annotations

import pytest
import torch

from athanor.data.schema import InputSchema, Schema
from athanor.errors import ShapeError
from athanor.nets import build_network
from athanor.nets.templates.dcgan import GAN
from athanor.spec import load_spec


def images(shape: list[int]) -> Schema:
    return Schema(task="generation", input=InputSchema(kind="image", shape=shape))


def dcgan(options: dict, shape: list[int]) -> GAN:
    spec = load_spec({"data": "x", "model": {"template": "dcgan", **options}}).model
    network = build_network(spec, images(shape), seed=0)
    assert isinstance(network, GAN)
    return network


@pytest.mark.parametrize(
    ("shape", "first_map"),
    [([1, 28, 28], (7, 7)), ([3, 32, 32], (4, 4)), ([3, 64, 64], (4, 4)), ([1, 8, 8], (4, 4))],
)
def test_generator_and_discriminator_fit_the_images(shape: list[int], first_map) -> None:
    gan = dcgan({"latent_dim": 16, "generator_width": 4, "discriminator_width": 4}, shape)
    assert gan.latent_dim == 16
    z = torch.randn(3, 16)
    fake = gan(z)
    assert fake.shape == (3, *shape) and torch.equal(fake, gan.generator(z))
    assert fake.abs().max() <= 1  # tanh
    assert gan.discriminator(fake).shape == (3, 1)
    assert list(gan.generator.layer_shapes.values())[1][1:] == first_map
    assert "generator.project" in gan.layer_shapes and "discriminator.logit" in gan.layer_specs


def test_weights_start_from_normal_0_02_and_noise_is_reproducible() -> None:
    gan = dcgan({}, [1, 28, 28])
    conv = gan.discriminator[1].conv.weight
    assert abs(conv.std().item() - 0.02) < 0.002 and abs(conv.mean().item()) < 0.002
    other = dcgan({"init": "xavier_normal", "output": "sigmoid"}, [1, 28, 28])
    assert abs(other.discriminator[1].conv.weight.std().item() - 0.02) > 0.005
    first = gan.generate(4, generator=torch.Generator().manual_seed(1))
    second = gan.generate(4, generator=torch.Generator().manual_seed(1))
    assert torch.equal(first, second) and gan.training
    assert other.generate(2).min() >= 0  # sigmoid output


def test_images_that_cannot_be_halved_are_refused() -> None:
    with pytest.raises(ShapeError, match="dcgan needs image sides divisible by 2"):
        dcgan({}, [1, 7, 7])
    with pytest.raises(ShapeError, match="3 upsamplings need image sides divisible by 8"):
        dcgan({"upsamplings": 3}, [1, 28, 28])
