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
from athanor.spec.activations import Activation, ActivationSpec
from athanor.spec.base import StrictModel
from athanor.spec.initializers import Initializer

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
    init: Initializer | None = Field(
        default=None, description="Weight initializer; default the model's `init`, else PyTorch's."
    )


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


TransposedPadding = Literal["valid", "same"] | int | tuple[int, int]


class _ConvTransposeCheck(_ConvSpec):
    @model_validator(mode="after")
    def _check(self) -> _ConvTransposeCheck:
        outputs = self.output_padding  # type: ignore[attr-defined]
        strides = self.stride  # type: ignore[attr-defined]
        for out_pad, step in zip(_as_tuple(outputs), _as_tuple(strides), strict=False):
            if out_pad >= max(step, self.dilation):
                raise PydanticCustomError(
                    "bad_output_padding",
                    "output_padding must be smaller than the stride or the dilation",
                    {},
                )
        return self


def _as_tuple(value: int | tuple[int, ...]) -> tuple[int, ...]:
    return (value, value) if isinstance(value, int) else tuple(value)


@layer_spec("conv_transpose2d")
class ConvTranspose2dSpec(_ConvTransposeCheck):
    """Transposed 2-D convolution ("deconvolution"): learned upsampling of images."""

    type: Literal["conv_transpose2d"] = "conv_transpose2d"
    kernel: IntPair = Field(default=3, description="Kernel size, n or [h, w].")
    stride: IntPair = Field(default=1, description="Upsampling factor, n or [h, w].")
    padding: TransposedPadding = Field(
        default="valid",
        description="valid (output (in-1)*stride + kernel), same (output in*stride), or numbers "
        "cropped from each side.",
    )
    output_padding: IntPair = Field(default=0, description="Extra rows/columns at the end.")


@layer_spec("conv_transpose1d")
class ConvTranspose1dSpec(_ConvTransposeCheck):
    """Transposed 1-D convolution over [channels, length] inputs."""

    type: Literal["conv_transpose1d"] = "conv_transpose1d"
    kernel: int = Field(default=3, ge=1)
    stride: int = Field(default=1, ge=1)
    padding: Literal["valid", "same"] | int = "valid"
    output_padding: int = Field(default=0, ge=0)


@layer_spec("upsample")
class UpsampleSpec(LayerSpec):
    """Repeats (nearest) or interpolates (linear) values to enlarge sequences or images."""

    type: Literal["upsample"] = "upsample"
    scale: IntPair = Field(default=2, description="Factor per dimension, n or [h, w].")
    mode: Literal["nearest", "linear"] = Field(
        default="nearest", description="nearest (copies) or linear (bilinear on images)."
    )
    shorthand = "scale"


@layer_spec("globalavgpool")
class GlobalAvgPoolSpec(LayerSpec):
    """Mean of each channel over its whole length or image: [C, ...] -> [C]."""

    type: Literal["globalavgpool"] = "globalavgpool"


@layer_spec("globalmaxpool")
class GlobalMaxPoolSpec(LayerSpec):
    """Maximum of each channel over its whole length or image: [C, ...] -> [C]."""

    type: Literal["globalmaxpool"] = "globalmaxpool"


@layer_spec("stochasticpool")
class StochasticPoolSpec(_PoolSpec):
    """Stochastic pooling (Zeiler & Fergus, 2013): samples one value per window.

    While training, a value is drawn with probability proportional to its (non-negative)
    activation; when evaluating, the windows' probability-weighted average is used.
    """

    type: Literal["stochasticpool"] = "stochasticpool"


@layer_spec("layernorm")
class LayerNormSpec(LayerSpec):
    """Layer normalization: each sample normalized over its last ``dims`` dimensions."""

    type: Literal["layernorm"] = "layernorm"
    dims: int = Field(
        default=1, ge=1, le=3, description="Trailing dimensions normalized together (1: features)."
    )
    eps: float = Field(default=1e-5, gt=0.0)
    affine: bool = Field(default=True, description="Learn a scale and shift per element.")


@layer_spec("reshape")
class ReshapeSpec(LayerSpec):
    """Gives each sample a new shape with the same number of values (one size may be -1)."""

    type: Literal["reshape"] = "reshape"
    shape: list[int] = Field(min_length=1, max_length=4, description="New sample shape.")
    shorthand = "shape"

    @model_validator(mode="after")
    def _check(self) -> ReshapeSpec:
        if any(size == 0 or size < -1 for size in self.shape) or self.shape.count(-1) > 1:
            raise PydanticCustomError(
                "bad_shape",
                "shape takes sizes >= 1 and at most one -1 (got {shape})",
                {"shape": self.shape},
            )
        return self


@layer_spec("permute")
class PermuteSpec(LayerSpec):
    """Reorders a sample's dimensions, e.g. ``[1, 0]`` turns [steps, features] into
    [features, steps] for conv1d."""

    type: Literal["permute"] = "permute"
    order: list[int] = Field(min_length=2, max_length=4, description="New order of dimensions.")
    shorthand = "order"

    @model_validator(mode="after")
    def _check(self) -> PermuteSpec:
        if sorted(self.order) != list(range(len(self.order))):
            raise PydanticCustomError(
                "bad_order",
                "order must list each dimension 0..{last} once (got {order})",
                {"last": len(self.order) - 1, "order": self.order},
            )
        return self


@layer_spec("repeat")
class RepeatSpec(LayerSpec):
    """Repeats a flat sample ``times`` times: [F] -> [times, F] (feeds a decoder RNN)."""

    type: Literal["repeat"] = "repeat"
    times: int = Field(ge=1, description="Copies, i.e. steps of the output sequence.")
    shorthand = "times"


@layer_spec("embedding")
class EmbeddingSpec(LayerSpec):
    """A learned vector per token: int64 ids [T] -> [T, dim]."""

    type: Literal["embedding"] = "embedding"
    dim: int = Field(ge=1, description="Size of each token's vector.")
    vocab: int | None = Field(
        default=None, ge=1, description="Number of token ids; default the data's vocabulary."
    )
    init: Initializer | None = Field(default=None, description="Initializer of the vectors.")
    shorthand = "dim"


class _RecurrentSpec(LayerSpec):
    units: int = Field(ge=1, description="Size of the hidden state (per direction).")
    layers: int = Field(default=1, ge=1, le=8, description="Stacked recurrent layers.")
    bidirectional: bool = Field(default=False, description="Also read the sequence backwards.")
    return_sequences: bool = Field(
        default=False,
        description="Output every step [T, units] instead of the last state [units].",
    )
    dropout: float = Field(
        default=0.0, ge=0.0, lt=1.0, description="Dropout between stacked layers (layers >= 2)."
    )
    bias: bool = True
    init: Initializer | None = Field(default=None, description="Initializer of the weights.")
    shorthand = "units"

    @model_validator(mode="after")
    def _check(self) -> _RecurrentSpec:
        if self.dropout > 0 and self.layers == 1:
            raise PydanticCustomError(
                "bad_dropout",
                "dropout acts between stacked layers and needs layers >= 2; "
                "add '- dropout: {rate}' after this layer instead",
                {"rate": self.dropout},
            )
        return self


@layer_spec("rnn")
class RnnSpec(_RecurrentSpec):
    """Elman RNN: h_t = tanh(W x_t + U h_(t-1) + b) over [steps, features]."""

    type: Literal["rnn"] = "rnn"
    nonlinearity: Literal["tanh", "relu"] = "tanh"


@layer_spec("lstm")
class LstmSpec(_RecurrentSpec):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997) over [steps, features]."""

    type: Literal["lstm"] = "lstm"


@layer_spec("gru")
class GruSpec(_RecurrentSpec):
    """Gated recurrent unit (Cho et al., 2014) over [steps, features]."""

    type: Literal["gru"] = "gru"


@layer_spec("residual")
class ResidualSpec(LayerSpec):
    """A residual block (He et al., 2016): ``act(F(x) + shortcut(x))``.

    ``F`` is two convolutions (basic) or 1x1, kxk, 1x1 convolutions (bottleneck) with batch norm;
    the shortcut is the identity, or a 1x1 convolution when the shape changes. Works on images
    [C, H, W], sequences [C, L] (1-D convolutions) and flat features [F] (dense layers).
    """

    type: Literal["residual"] = "residual"
    filters: int = Field(ge=1, description="Channels inside the block (features if flat).")
    kernel: int = Field(default=3, ge=1, description="Kernel of the main convolution (odd).")
    stride: int = Field(default=1, ge=1, description="Downsampling of the first convolution.")
    bottleneck: bool = Field(default=False, description="1x1, kxk, 1x1 instead of kxk, kxk.")
    expansion: int = Field(
        default=4, ge=1, description="Output channels = filters * expansion (bottleneck only)."
    )
    activation: Activation = Field(default_factory=lambda: ActivationSpec(type="relu"))
    batchnorm: bool = Field(default=True, description="Batch norm after each convolution.")
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0, description="Dropout inside the block.")
    init: Initializer | None = Field(default=None, description="Initializer of the weights.")
    shorthand = "filters"

    @property
    def out_channels(self) -> int:
        return self.filters * self.expansion if self.bottleneck else self.filters

    @model_validator(mode="after")
    def _check(self) -> ResidualSpec:
        if self.kernel % 2 == 0:
            raise PydanticCustomError("bad_kernel", "a residual block takes an odd kernel", {})
        if self.activation.type == "maxout":
            raise PydanticCustomError(
                "bad_activation", "maxout changes the width; a residual block cannot use it", {}
            )
        return self


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
