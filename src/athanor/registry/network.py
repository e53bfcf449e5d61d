"""The network of a package: rebuilt from its spec and loaded with its verified weights."""

from __future__ import annotations

import torch
from torch import nn

from athanor.data.schema import Schema
from athanor.nets.builder import build_network
from athanor.registry.package import ModelPackage
from athanor.spec.run import RunSpec


def rebuild_network(package: ModelPackage) -> tuple[nn.Module, Schema]:
    """The package's network in eval mode on the CPU, with its weights, and its data schema.

    Raises:
        ShapeError: the stored spec no longer builds (a package from an incompatible version).
    """
    spec = RunSpec.model_validate(package.metadata["spec"])
    schema = Schema.model_validate(package.metadata["schema"])
    network = build_network(spec.model, schema)
    network.load_state_dict(package.state_dict, strict=True)
    return network.eval(), schema


def sample_inputs(
    schema: Schema, count: int, *, seed: int, network: nn.Module | None = None
) -> torch.Tensor:
    """``count`` synthetic network inputs (after preprocessing) of the schema's shape.

    Token models get valid token indices; the others standard-normal values, which is what
    standardized features look like. A GAN (task ``generation``) takes latent vectors of its
    ``network``'s ``input_shape``, not images.
    """
    generator = torch.Generator().manual_seed(seed)
    shape = (count, *network_input_shape(schema, network))
    if schema.input.kind == "tokens":
        return torch.randint(0, schema.input.vocab_size, shape, generator=generator)
    return torch.randn(shape, generator=generator)


def network_input_shape(schema: Schema, network: nn.Module | None = None) -> tuple[int, ...]:
    """One sample's network input: the data's shape, or a GAN generator's latent vector."""
    if schema.task == "generation" and network is not None:
        return tuple(getattr(network, "input_shape", schema.input.shape))
    return tuple(schema.input.shape)
