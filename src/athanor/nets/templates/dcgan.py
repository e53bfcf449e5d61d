"""DCGAN (Radford, Metz & Chintala, 2016): generator and discriminator sized to the images."""

from __future__ import annotations

import torch
from torch import nn

from athanor.data.schema import Schema
from athanor.errors import ShapeError
from athanor.nets.network import Network
from athanor.nets.registry import BuildContext, Shape
from athanor.nets.stack import build_stack
from athanor.nets.templates import require_input, template_builder
from athanor.spec.activations import ActivationSpec
from athanor.spec.initializers import InitializerSpec
from athanor.spec.layers import (
    Conv2dSpec,
    ConvTranspose2dSpec,
    FlattenSpec,
    LayerSpec,
    ReshapeSpec,
)
from athanor.spec.model import DcganSpec


class GAN(nn.Module):
    """A generator and a discriminator trained against each other.

    Attributes:
        generator: z [B, latent_dim] -> images [B, C, H, W].
        discriminator: images [B, C, H, W] -> logits [B, 1] (real vs generated).
        latent_dim: the size of z.
    """

    def __init__(self, generator: Network, discriminator: Network, latent_dim: int) -> None:
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.input_shape: Shape = (latent_dim,)
        self.input_dtype = torch.float32

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Generated images for the latent vectors ``z`` [B, latent_dim]."""
        return self.generator(z)

    def summary_forward(self, z: torch.Tensor) -> torch.Tensor:
        """Generator then discriminator, so that a summary sees both networks."""
        return self.discriminator(self.generator(z))

    @torch.no_grad()
    def generate(self, count: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``count`` images from z ~ N(0, 1) (in evaluation mode).

        Args:
            count: how many images.
            generator: random generator for reproducible noise (default torch's global one).
        """
        device = next(self.parameters()).device
        noise_device = generator.device if generator is not None else device
        z = torch.randn(count, self.latent_dim, generator=generator, device=noise_device)
        was_training = self.training
        self.eval()
        try:
            return self.generator(z.to(device))
        finally:
            self.train(was_training)

    @property
    def output_shape(self) -> Shape:
        return self.generator.output_shape

    @property
    def layer_specs(self) -> dict[str, LayerSpec]:
        return {
            f"{part}.{name}": spec
            for part in ("generator", "discriminator")
            for name, spec in getattr(self, part).layer_specs.items()
        }

    @property
    def layer_shapes(self) -> dict[str, Shape]:
        return {
            f"{part}.{name}": shape
            for part in ("generator", "discriminator")
            for name, shape in getattr(self, part).layer_shapes.items()
        }


def _doublings(spec: DcganSpec, height: int, width: int) -> int:
    if spec.upsamplings is not None:
        factor = 2**spec.upsamplings
        if height % factor or width % factor:
            raise ShapeError(
                f"template dcgan: {spec.upsamplings} upsamplings need image sides divisible by "
                f"{factor}; the data gives {height}x{width}"
            )
        return spec.upsamplings
    count = 0
    while count < 4 and height % 2 ** (count + 1) == 0 and width % 2 ** (count + 1) == 0:
        if min(height, width) // 2 ** (count + 1) < 3:
            break
        count += 1
    if count == 0:
        raise ShapeError(
            f"template dcgan needs image sides divisible by 2 (and at least 6 px); "
            f"the data gives {height}x{width}"
        )
    return count


@template_builder("dcgan")
def build_dcgan(spec: DcganSpec, schema: Schema) -> GAN:
    """Generator: z as a 1x1 map, a transposed convolution to the first h0 x w0 feature map,
    then n stride-2 transposed convolutions (4x4) doubling the size and halving the channels,
    batch norm and ReLU between, ``output`` (tanh) last. Discriminator: n stride-2 4x4
    convolutions with leaky ReLU (batch norm from the second on), then a h0 x w0 convolution
    to one logit.
    """
    require_input("dcgan", schema, ("image",))
    channels, height, width = schema.input.shape
    doublings = _doublings(spec, height, width)
    first = (height >> doublings, width >> doublings)
    init = spec.init or InitializerSpec(type="normal", std=0.02)
    context = BuildContext(init=init)
    relu = ActivationSpec(type="relu")
    leaky = ActivationSpec(type="leaky_relu", alpha=spec.slope)

    generator_layers: list[LayerSpec] = [
        ReshapeSpec(shape=[spec.latent_dim, 1, 1], name="project"),
        ConvTranspose2dSpec(
            filters=spec.generator_width * 2 ** (doublings - 1),
            kernel=first,
            batchnorm=True,
            bias=False,
            activation=relu,
        ),
    ]
    for step in range(1, doublings + 1):
        last = step == doublings
        generator_layers.append(
            ConvTranspose2dSpec(
                filters=channels if last else spec.generator_width * 2 ** (doublings - 1 - step),
                kernel=4,
                stride=2,
                padding=1,
                batchnorm=not last,
                bias=last,
                activation=ActivationSpec(type=spec.output) if last else relu,
            )
        )
    generator = build_stack(
        generator_layers,
        (spec.latent_dim,),
        input_kind="latent",
        context=context,
        expected=tuple(schema.input.shape),
        expected_text="the images of the data",
    )

    discriminator_layers: list[LayerSpec] = [
        Conv2dSpec(
            filters=spec.discriminator_width * 2**step,
            kernel=4,
            stride=2,
            padding=1,
            batchnorm=step > 0,
            bias=step == 0,
            activation=leaky,
        )
        for step in range(doublings)
    ]
    discriminator_layers += [
        Conv2dSpec(filters=1, kernel=first, name="logit"),
        FlattenSpec(),
    ]
    discriminator = build_stack(
        discriminator_layers,
        tuple(schema.input.shape),
        input_kind="image",
        context=context,
        expected=(1,),
        expected_text="one logit",
    )
    return GAN(generator, discriminator, spec.latent_dim)
