"""The shared tail of learned layers: optional batch norm, activation and dropout."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from athanor.nets.activations import build_activation
from athanor.nets.initializers import initialize
from athanor.nets.registry import BuildContext
from athanor.spec.initializers import InitializerSpec
from athanor.spec.layers import ActivatedLayerSpec


def chosen_init(spec: object, context: BuildContext) -> InitializerSpec | None:
    """The layer's own ``init``, else the model's."""
    own = getattr(spec, "init", None)
    return own if own is not None else context.init


def with_tail(
    core_name: str,
    core: nn.Module,
    spec: ActivatedLayerSpec,
    dims: int,
    context: BuildContext,
) -> nn.Module:
    """``core``, initialized, followed by batch norm, activation and dropout as the spec asks.

    ``dims`` is 0 for flat features, 1 or 2 for sequences or images (selects the norm).
    A layer without extras is returned as a one-module Sequential so that parameter names
    (``<layer>.<core_name>.weight``) do not depend on the extras.
    """
    initialize(core, chosen_init(spec, context), spec.activation)
    parts: OrderedDict[str, nn.Module] = OrderedDict({core_name: core})
    if spec.batchnorm:
        channels = core.out_channels if hasattr(core, "out_channels") else core.out_features
        norm = {0: nn.BatchNorm1d, 1: nn.BatchNorm1d, 2: nn.BatchNorm2d}[dims]
        parts["norm"] = norm(channels)
    if spec.activation is not None and spec.activation.type != "linear":
        # A dense layer's features are the last dimension, a convolution's channels dimension 1.
        parts["act"] = build_activation(spec.activation, feature_dim=-1 if dims == 0 else 1)
    if spec.dropout > 0:
        parts["dropout"] = nn.Dropout(spec.dropout)
    return nn.Sequential(parts)


def widen(spec: ActivatedLayerSpec) -> int:
    """Output multiplier needed by the activation (maxout pieces)."""
    return spec.activation.widen if spec.activation is not None else 1
