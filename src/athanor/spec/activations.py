"""Activation specs: a name (``relu``) or a name with parameters (``{elu: {alpha: 0.5}}``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from athanor._choices import choices_text, closest
from athanor.spec.base import StrictModel


class ActivationSpec(StrictModel):
    """An activation function applied after a layer."""

    type: str
    alpha: float | None = Field(
        default=None, description="Slope for leaky_relu (0.01) or scale for elu (1.0)."
    )
    pieces: int | None = Field(
        default=None, ge=2, le=16, description="Linear pieces of maxout (default 2)."
    )

    @property
    def widen(self) -> int:
        """How many times wider the layer's output must be before this activation."""
        return (self.pieces or 2) if self.type == "maxout" else 1


# name -> one-line description; the builder in athanor.nets.activations implements each.
ACTIVATIONS: dict[str, str] = {
    "linear": "identity: f(x) = x",
    "step": "Heaviside step 1[x > 0], straight-through gradient",
    "sign": "sign(x) in {-1, 1}, straight-through gradient",
    "sigmoid": "1 / (1 + e^-x)",
    "tanh": "hyperbolic tangent",
    "relu": "max(0, x)",
    "leaky_relu": "max(alpha*x, x), alpha default 0.01",
    "elu": "x if x > 0 else alpha*(e^x - 1), alpha default 1.0",
    "selu": "scaled ELU (self-normalizing)",
    "gelu": "x * Phi(x), Gaussian error linear unit",
    "swish": "x * sigmoid(x) (also called silu)",
    "silu": "x * sigmoid(x) (also called swish)",
    "mish": "x * tanh(softplus(x))",
    "maxout": "max over k linear pieces (the layer is made k times wider)",
    "softmax": "exp(x_i) / sum_j exp(x_j) over features",
}

_WITH_ALPHA = {"leaky_relu", "elu"}


def _normalize_activation(value: Any) -> Any:
    if isinstance(value, str):
        value = {"type": value}
    elif isinstance(value, dict) and "type" not in value and len(value) == 1:
        ((name, params),) = value.items()
        value = {"type": name, **(params if isinstance(params, dict) else {})}
    if isinstance(value, dict):
        name = value.get("type")
        if name not in ACTIVATIONS:
            hint = closest(str(name), list(ACTIVATIONS))
            raise PydanticCustomError(
                "unknown_activation",
                "unknown activation '{name}'{suggestion}; valid: {valid}",
                {
                    "name": name,
                    "suggestion": f" (did you mean '{hint}'?)" if hint else "",
                    "valid": choices_text(list(ACTIVATIONS)),
                },
            )
        if value.get("alpha") is not None and name not in _WITH_ALPHA:
            raise PydanticCustomError(
                "bad_activation_param", "alpha applies only to leaky_relu and elu", {}
            )
        if value.get("pieces") is not None and name != "maxout":
            raise PydanticCustomError("bad_activation_param", "pieces applies only to maxout", {})
    return value


Activation = Annotated[ActivationSpec, BeforeValidator(_normalize_activation)]

ActivationName = Literal[tuple(ACTIVATIONS)]  # type: ignore[valid-type]
