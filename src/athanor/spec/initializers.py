"""Initializer specs: how a layer's weights are drawn before training.

Written like activations: a name (``he_normal``) or a name with parameters
(``{normal: {std: 0.05}}``). ``init`` may be given per layer and as a model-level default;
a layer's own ``init`` wins.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from athanor._choices import choices_text, closest
from athanor.spec.base import StrictModel

# name -> one-line description; athanor.nets.initializers implements each.
INITIALIZERS: dict[str, str] = {
    "default": "PyTorch's own initialization of the layer (uniform, scaled by fan-in)",
    "xavier_uniform": "U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)",
    "xavier_normal": "N(0, s^2), s = gain * sqrt(2 / (fan_in + fan_out))",
    "glorot_uniform": "the same as xavier_uniform",
    "glorot_normal": "the same as xavier_normal",
    "kaiming_uniform": "U(-b, b), b = gain * sqrt(3 / fan) (He et al., 2015)",
    "kaiming_normal": "N(0, s^2), s = gain / sqrt(fan)",
    "he_uniform": "the same as kaiming_uniform",
    "he_normal": "the same as kaiming_normal",
    "orthogonal": "a (semi-)orthogonal matrix times gain (Saxe et al., 2014)",
    "normal": "N(mean, std^2)",
    "zeros": "every weight 0 (shows why symmetric starts cannot learn)",
}

_PARAMETERS: dict[str, set[str]] = {
    "gain": {"xavier_uniform", "xavier_normal", "glorot_uniform", "glorot_normal", "orthogonal"},
    "mode": {"kaiming_uniform", "kaiming_normal", "he_uniform", "he_normal"},
    "nonlinearity": {"kaiming_uniform", "kaiming_normal", "he_uniform", "he_normal"},
    "mean": {"normal"},
    "std": {"normal"},
}

KaimingNonlinearity = Literal["relu", "leaky_relu", "selu", "tanh", "sigmoid", "linear"]


class InitializerSpec(StrictModel):
    """How the weights of a layer are initialized; biases start at 0 (except ``default``)."""

    type: str
    gain: float | None = Field(
        default=None, gt=0.0, description="Scale of xavier/glorot and orthogonal (default 1)."
    )
    mode: Literal["fan_in", "fan_out"] | None = Field(
        default=None, description="Fan used by kaiming/he (default fan_in)."
    )
    nonlinearity: KaimingNonlinearity | None = Field(
        default=None,
        description="Gain of kaiming/he; default from the layer's activation (else relu).",
    )
    mean: float | None = Field(default=None, description="Mean of normal (default 0).")
    std: float | None = Field(default=None, gt=0.0, description="Std of normal (default 0.02).")


def _normalize_initializer(value: Any) -> Any:
    if isinstance(value, str):
        value = {"type": value}
    elif isinstance(value, dict) and "type" not in value and len(value) == 1:
        ((name, params),) = value.items()
        if params is not None and not isinstance(params, dict):
            raise PydanticCustomError(
                "bad_initializer",
                "initializer '{name}' takes a mapping of parameters, not {params!r}",
                {"name": name, "params": params},
            )
        value = {"type": name, **(params or {})}
    if isinstance(value, dict):
        name = value.get("type")
        if name not in INITIALIZERS:
            hint = closest(str(name), list(INITIALIZERS))
            raise PydanticCustomError(
                "unknown_initializer",
                "unknown initializer '{name}'{suggestion}; valid: {valid}",
                {
                    "name": name,
                    "suggestion": f" (did you mean '{hint}'?)" if hint else "",
                    "valid": choices_text(list(INITIALIZERS)),
                },
            )
        for parameter, owners in _PARAMETERS.items():
            if value.get(parameter) is not None and name not in owners:
                raise PydanticCustomError(
                    "bad_initializer_param",
                    "{parameter} applies only to {owners}, not to '{name}'",
                    {"parameter": parameter, "owners": choices_text(owners), "name": name},
                )
    return value


Initializer = Annotated[InitializerSpec, BeforeValidator(_normalize_initializer)]
"""An initializer spec parsed from its name or ``{name: {parameters}}`` form."""
