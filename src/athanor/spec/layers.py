"""Layer specs: each item of ``model.layers`` is one of these, selected by its key.

YAML writes a layer as a one-key mapping, ``- conv2d: {filters: 6, kernel: 5}``, a scalar for
the layer's main parameter, ``- maxpool: 2``, or a bare name, ``- flatten``. Every layer type
registers its spec class here with :func:`layer_spec`; ``athanor.nets`` registers a builder under
the same name.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BeforeValidator, Discriminator, Field, Tag, model_validator
from pydantic_core import PydanticCustomError

from athanor._choices import choices_text, closest
from athanor.spec.activations import Activation
from athanor.spec.base import StrictModel

LAYER_SPECS: dict[str, type[LayerSpec]] = {}


def layer_spec(name: str):
    """Register a layer spec class under ``name`` (its YAML key)."""

    def register(cls: type[LayerSpec]) -> type[LayerSpec]:
        if name in LAYER_SPECS:
            raise ValueError(f"layer type {name!r} registered twice")
        LAYER_SPECS[name] = cls
        return cls

    return register


class LayerSpec(StrictModel):
    """Fields every layer has."""

    type: str
    name: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Module name (used to freeze or inspect it); default '<type>_<position>'.",
    )


class ActivatedLayerSpec(LayerSpec):
    """A layer with a learned transform, optionally followed by norm, activation and dropout."""

    activation: Activation | None = Field(default=None, description="Applied after the layer.")
    batchnorm: bool = Field(default=False, description="Batch norm between layer and activation.")
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0, description="Dropout after activation.")
    bias: bool = True


IntPair = int | tuple[int, int]
Padding = Literal["valid", "same", "full"] | int | tuple[int, int]


@layer_spec("dense")
class DenseSpec(ActivatedLayerSpec):
    """Fully connected layer: ``y = x W^T + b`` over the last dimension."""

    type: Literal["dense"] = "dense"
    units: int = Field(ge=1, description="Output features.")
    inputs: int | None = Field(
        default=None, ge=1, description="Input features, checked against the data if given."
    )
    shorthand = "units"


class _ConvSpec(ActivatedLayerSpec):
    filters: int = Field(ge=1, description="Output channels.")
    in_channels: int | None = Field(
        default=None, ge=1, description="Input channels, checked against the data if given."
    )
    dilation: int = Field(default=1, ge=1)
    groups: int = Field(default=1, ge=1)
    shorthand = "filters"


@layer_spec("conv2d")
class Conv2dSpec(_ConvSpec):
    """2-D convolution over [channels, height, width] inputs."""

    type: Literal["conv2d"] = "conv2d"
    kernel: IntPair = Field(default=3, description="Kernel size, n or [h, w].")
    stride: IntPair = 1
    padding: Padding = Field(default="valid", description="valid, same, full, n or [h, w].")

    @model_validator(mode="after")
    def _check(self) -> Conv2dSpec:
        if self.padding == "same" and self.stride not in (1, (1, 1)):
            raise PydanticCustomError(
                "bad_padding", "padding 'same' needs stride 1; give padding as numbers instead", {}
            )
        return self


@layer_spec("conv1d")
class Conv1dSpec(_ConvSpec):
    """1-D convolution over [channels, length] inputs (series, sequences)."""

    type: Literal["conv1d"] = "conv1d"
    kernel: int = Field(default=3, ge=1)
    stride: int = Field(default=1, ge=1)
    padding: Literal["valid", "same", "full"] | int = "valid"

    @model_validator(mode="after")
    def _check(self) -> Conv1dSpec:
        if self.padding == "same" and self.stride != 1:
            raise PydanticCustomError(
                "bad_padding", "padding 'same' needs stride 1; give padding as a number instead", {}
            )
        return self


class _PoolSpec(LayerSpec):
    size: IntPair = Field(default=2, description="Window, n or [h, w].")
    stride: IntPair | None = Field(default=None, description="Step; default the window size.")
    padding: IntPair = 0
    shorthand = "size"


@layer_spec("maxpool")
class MaxPoolSpec(_PoolSpec):
    """Max pooling over 1-D or 2-D inputs (chosen from the incoming shape)."""

    type: Literal["maxpool"] = "maxpool"


@layer_spec("avgpool")
class AvgPoolSpec(_PoolSpec):
    """Average pooling over 1-D or 2-D inputs (chosen from the incoming shape)."""

    type: Literal["avgpool"] = "avgpool"


@layer_spec("flatten")
class FlattenSpec(LayerSpec):
    """Flattens every dimension but the batch."""

    type: Literal["flatten"] = "flatten"


@layer_spec("dropout")
class DropoutSpec(LayerSpec):
    """Zeroes a fraction ``rate`` of the inputs while training, scaling the rest."""

    type: Literal["dropout"] = "dropout"
    rate: float = Field(default=0.5, ge=0.0, lt=1.0)
    shorthand = "rate"


@layer_spec("batchnorm")
class BatchNormSpec(LayerSpec):
    """Batch normalization over the channel (or feature) dimension."""

    type: Literal["batchnorm"] = "batchnorm"
    momentum: float = Field(default=0.1, gt=0.0, lt=1.0)
    eps: float = Field(default=1e-5, gt=0.0)


@layer_spec("activation")
class ActivationLayerSpec(LayerSpec):
    """An activation on its own, e.g. ``- activation: tanh``."""

    type: Literal["activation"] = "activation"
    function: Activation
    shorthand = "function"


def _normalize_layer(value: Any) -> Any:
    """``conv2d: {...}`` / ``maxpool: 2`` / ``flatten`` -> ``{type: ..., ...}``."""
    if isinstance(value, str):
        value = {"type": value}
    elif isinstance(value, dict) and "type" not in value:
        if len(value) != 1:
            raise PydanticCustomError(
                "bad_layer",
                "a layer is a mapping with one key, its type (e.g. '- dense: {{units: 10}}'); "
                "got keys {keys}",
                {"keys": ", ".join(map(str, value))},
            )
        ((kind, params),) = value.items()
        value = {"type": kind, "__params__": params}
    if isinstance(value, dict):
        kind = value.get("type")
        spec_class = LAYER_SPECS.get(kind) if isinstance(kind, str) else None
        if spec_class is None:
            hint = closest(str(kind), list(LAYER_SPECS))
            raise PydanticCustomError(
                "unknown_layer",
                "unknown layer type '{kind}'{suggestion}; valid: {valid}",
                {
                    "kind": kind,
                    "suggestion": f" (did you mean '{hint}'?)" if hint else "",
                    "valid": choices_text(list(LAYER_SPECS)),
                },
            )
        if "__params__" in value:
            params = value["__params__"]
            if params is None:
                value = {"type": kind}
            elif isinstance(params, dict):
                value = {"type": kind, **params}
            elif spec_class.shorthand is not None:
                value = {"type": kind, spec_class.shorthand: params}
            else:
                raise PydanticCustomError(
                    "bad_layer",
                    "layer '{kind}' takes a mapping of parameters, not {params!r}",
                    {"kind": kind, "params": params},
                )
    return value


def _layer_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("type")
    return getattr(value, "type", None)


def _layer_union() -> Any:
    members = tuple(Annotated[cls, Tag(name)] for name, cls in LAYER_SPECS.items())
    return Annotated[
        Union[members],  # noqa: UP007 - built from the registry at import time
        Discriminator(_layer_tag),
        BeforeValidator(_normalize_layer),
    ]


Layer = _layer_union()
"""Any registered layer spec, parsed from its YAML shorthand."""
