"""Weight initialization for every name in :data:`athanor.spec.initializers.INITIALIZERS`."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from athanor.spec.activations import ActivationSpec
from athanor.spec.initializers import INITIALIZERS, InitializerSpec

# Activations whose kaiming gain torch.nn.init.calculate_gain knows; others use relu's.
_GAINED = {"relu", "leaky_relu", "selu", "tanh", "sigmoid", "linear"}


def _kaiming_nonlinearity(
    spec: InitializerSpec, activation: ActivationSpec | None
) -> tuple[str, float]:
    """The nonlinearity whose gain kaiming uses, and the leaky_relu slope."""
    if spec.nonlinearity is not None:
        name = spec.nonlinearity
        slope = activation.alpha if activation is not None and name == "leaky_relu" else None
    elif activation is not None and activation.type in _GAINED:
        name, slope = activation.type, activation.alpha
    else:
        name, slope = "relu", None
    return name, (slope if slope is not None else 0.01) if name == "leaky_relu" else 0.0


def _kaiming(
    weight: torch.Tensor, spec: InitializerSpec, act: ActivationSpec | None, uniform: bool
) -> None:
    nonlinearity, slope = _kaiming_nonlinearity(spec, act)
    mode = spec.mode or "fan_in"
    if nonlinearity == "selu":
        # Self-normalizing networks want LeCun's variance 1/fan (Klambauer et al., 2017).
        nonlinearity = "linear"
    init_fn = nn.init.kaiming_uniform_ if uniform else nn.init.kaiming_normal_
    init_fn(weight, a=slope, mode=mode, nonlinearity=nonlinearity)


_WeightInit = Callable[[torch.Tensor, InitializerSpec, ActivationSpec | None], None]

_WEIGHT_INITS: dict[str, _WeightInit] = {
    "xavier_uniform": lambda w, s, a: nn.init.xavier_uniform_(w, gain=s.gain or 1.0),
    "xavier_normal": lambda w, s, a: nn.init.xavier_normal_(w, gain=s.gain or 1.0),
    "glorot_uniform": lambda w, s, a: nn.init.xavier_uniform_(w, gain=s.gain or 1.0),
    "glorot_normal": lambda w, s, a: nn.init.xavier_normal_(w, gain=s.gain or 1.0),
    "kaiming_uniform": lambda w, s, a: _kaiming(w, s, a, uniform=True),
    "kaiming_normal": lambda w, s, a: _kaiming(w, s, a, uniform=False),
    "he_uniform": lambda w, s, a: _kaiming(w, s, a, uniform=True),
    "he_normal": lambda w, s, a: _kaiming(w, s, a, uniform=False),
    "orthogonal": lambda w, s, a: nn.init.orthogonal_(w, gain=s.gain or 1.0),
    "normal": lambda w, s, a: nn.init.normal_(
        w, mean=s.mean if s.mean is not None else 0.0, std=s.std if s.std is not None else 0.02
    ),
    "zeros": lambda w, s, a: nn.init.zeros_(w),
}
assert set(_WEIGHT_INITS) | {"default"} == set(INITIALIZERS), "every initializer needs a rule"

_NORMS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)


@torch.no_grad()
def initialize(
    module: nn.Module, spec: InitializerSpec | None, activation: ActivationSpec | None = None
) -> nn.Module:
    """Re-initialize the learned weights of ``module`` as ``spec`` says.

    Weights (every parameter with two or more dimensions, e.g. of dense, convolution,
    recurrent and embedding layers) are drawn by the initializer and biases set to 0.
    Normalization layers keep their scale 1 and shift 0. ``None`` or ``default`` leave
    PyTorch's initialization.

    Args:
        module: the layer (its submodules are initialized too).
        spec: the initializer.
        activation: the activation following the layer (chooses kaiming's gain).

    Returns:
        ``module``, for chaining.
    """
    if spec is None or spec.type == "default":
        return module
    rule = _WEIGHT_INITS[spec.type]
    for sub in module.modules():
        if isinstance(sub, _NORMS):
            continue
        for name, parameter in sub.named_parameters(recurse=False):
            if parameter.dim() >= 2:
                rule(parameter, spec, activation)
            elif name.startswith("bias"):
                nn.init.zeros_(parameter)
    return module
