"""Build a network from its spec and the data's schema, checking every shape first."""

from __future__ import annotations

import torch
from torch import nn

from athanor.data.schema import Schema
from athanor.nets.network import Network
from athanor.nets.parameter_memory import check_parameter_memory
from athanor.nets.registry import BuildContext
from athanor.nets.stack import build_stack
from athanor.nets.templates import TEMPLATE_BUILDERS, Expansion, expected_text
from athanor.spec.model import LayerStackSpec, ModelSpec, TemplateSpec

__all__ = ["Network", "build_network", "count_parameters"]


def build_network(spec: ModelSpec, schema: Schema, *, seed: int | None = None) -> nn.Module:
    """Build the network for ``schema`` from ``spec``.

    Layer stacks and most templates give a :class:`Network` (an ``nn.Sequential`` with the
    shape of every layer); ``dcgan`` gives a module with a generator and a discriminator.
    Construction is deterministic given ``seed`` and parameter names depend only on the spec,
    so that saved weights load back into a network rebuilt from the same spec.

    Args:
        spec: the model section of a run spec.
        schema: the prepared data's schema (input shape, task, classes).
        seed: seeds parameter initialization when given.

    Returns:
        The network, in training mode.

    Raises:
        ShapeError: naming the layer whose input does not fit, what it expects and what the
            layer before it (or the data) gives; or parameters that need more memory than
            the limit (checked on the meta device before anything is allocated).
    """
    check_parameter_memory(lambda: _build(spec, schema))
    if seed is not None:
        torch.manual_seed(seed)
    return _build(spec, schema)


def _build(spec: ModelSpec, schema: Schema) -> nn.Module:
    context = BuildContext(
        init=spec.init, vocab=len(schema.input.vocab) if schema.input.vocab else None
    )
    if isinstance(spec, LayerStackSpec):
        expansion = Expansion(list(spec.layers), head=spec.head)
    else:
        assert isinstance(spec, TemplateSpec)
        built = TEMPLATE_BUILDERS[spec.template](spec, schema)
        if isinstance(built, nn.Module):
            return built
        expansion = built if isinstance(built, Expansion) else Expansion(built)
    return build_stack(
        expansion.layers,
        tuple(schema.input.shape),
        input_kind=schema.input.kind,
        context=context,
        expected=tuple(schema.output_shape),
        head=expansion.head,
        expected_text=expected_text(schema),
        network_class=expansion.network_class,
    )


def count_parameters(module: nn.Module) -> tuple[int, int]:
    """(trainable, frozen) parameter counts."""
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in module.parameters() if not p.requires_grad)
    return trainable, frozen
