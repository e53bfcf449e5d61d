"""Model specs: an explicit stack of layers, or a named template with its options.

``model: {layers: [...]}`` builds exactly the listed layers; ``model: {template: lenet5, ...}``
expands a template sized from the dataset's schema. Templates register their option class here
with :func:`template_spec`; ``athanor.nets.templates`` registers how each one is built.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BeforeValidator, Discriminator, Field, Tag, field_validator, model_validator
from pydantic_core import PydanticCustomError

from athanor._choices import choices_text, closest
from athanor.spec.activations import Activation, ActivationSpec
from athanor.spec.base import StrictModel
from athanor.spec.initializers import Initializer
from athanor.spec.layers import Layer

TEMPLATE_SPECS: dict[str, type[TemplateSpec]] = {}


def template_spec(name: str):
    """Register the option class of template ``name``."""

    def register(cls: type[TemplateSpec]) -> type[TemplateSpec]:
        if name in TEMPLATE_SPECS or name == "layers":
            raise ValueError(f"template {name!r} registered twice or reserved")
        TEMPLATE_SPECS[name] = cls
        return cls

    return register


class LayerStackSpec(StrictModel):
    """A network written layer by layer; input sizes are inferred from the data."""

    layers: list[Layer] = Field(min_length=1, description="Layers in order, input to output.")
    head: bool = Field(
        default=True,
        description="Append the output layer sized from the task (classes or targets).",
    )
    init: Initializer | None = Field(
        default=None, description="Initializer of every layer without its own `init`."
    )


class TemplateSpec(StrictModel):
    """Options shared by every template."""

    template: str
    init: Initializer | None = Field(
        default=None, description="Initializer of every layer (default PyTorch's)."
    )


@template_spec("mlp")
class MlpSpec(TemplateSpec):
    """Multi-layer perceptron: flatten, then dense layers, then the output layer."""

    template: Literal["mlp"] = "mlp"
    hidden: list[Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [256, 128])
    activation: Activation = Field(default_factory=lambda: ActivationSpec(type="relu"))
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    batchnorm: bool = False


@template_spec("lenet5")
class LeNet5Spec(TemplateSpec):
    """LeNet-5 (LeCun et al., 1998): conv 6@5x5, pool, conv 16@5x5, pool, dense 120, 84."""

    template: Literal["lenet5"] = "lenet5"
    activation: Activation = Field(default_factory=lambda: ActivationSpec(type="relu"))
    pooling: Literal["max", "avg"] = "max"
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)


_Width = Annotated[int, Field(ge=1)]
_Blocks = Annotated[int, Field(ge=1, le=64)]
VGG_CONVS: dict[int, list[int]] = {
    11: [1, 1, 2, 2, 2],
    13: [2, 2, 2, 2, 2],
    16: [2, 2, 3, 3, 3],
    19: [2, 2, 4, 4, 4],
}
PRETRAINED_RESNET_DEPTHS = (18, 34, 50)
"""Depths with official ImageNet weights (``pretrained: imagenet``)."""

RESNET_BLOCKS: dict[int, list[int]] = {
    18: [2, 2, 2, 2],
    34: [3, 4, 6, 3],
    50: [3, 4, 6, 3],
    101: [3, 4, 23, 3],
    152: [3, 8, 36, 3],
}


@template_spec("vgg")
class VggSpec(TemplateSpec):
    """VGG (Simonyan & Zisserman, 2015): stages of 3x3 convolutions, each ending in a 2x2 max
    pool, then dense layers. Stages that would shrink the image below 1x1 are left out."""

    template: Literal["vgg"] = "vgg"
    depth: Literal[11, 13, 16, 19] = Field(default=16, description="Weight layers: 11/13/16/19.")
    convs: list[_Blocks] | None = Field(
        default=None, max_length=6, description="Convolutions per stage; overrides depth."
    )
    width: _Width = Field(default=64, description="Filters of the first stage, doubled per stage.")
    max_width: _Width = Field(default=512, description="Upper limit of the filters.")
    dense: list[_Width] | None = Field(
        default=None,
        description="Hidden dense units; default [4096, 4096] for images of 64 px and more, "
        "else [512, 512].",
    )
    batchnorm: bool = Field(default=True, description="Batch norm after every convolution.")
    dropout: float = Field(default=0.5, ge=0.0, lt=1.0, description="After each dense layer.")
    activation: Activation = Field(default_factory=lambda: ActivationSpec(type="relu"))


@template_spec("resnet")
class ResNetSpec(TemplateSpec):
    """ResNet (He et al., 2016): a stem, stages of residual blocks, global average pooling.

    ``depth`` 18/34 use basic blocks, 50/101/152 bottleneck blocks, four stages of
    64-128-256-512 filters; a depth 6n+2 (20, 32, 44, 56, 110) is the CIFAR network of the
    paper: three stages of n basic blocks with 16-32-64 filters.
    """

    template: Literal["resnet"] = "resnet"
    depth: int = Field(default=18, ge=8, le=1202, description="18, 34, 50, 101, 152 or 6n+2.")
    stem: Literal["auto", "imagenet", "cifar"] = Field(
        default="auto",
        description="imagenet: 7x7/2 convolution and 3x3/2 max pool; cifar: one 3x3 "
        "convolution; auto: cifar for images under 64 px.",
    )
    blocks: list[_Blocks] | None = Field(
        default=None, max_length=6, description="Blocks per stage; overrides depth."
    )
    width: _Width | None = Field(
        default=None,
        description="Filters of the first stage (64, or 16 for 6n+2), doubled per stage.",
    )
    bottleneck: bool | None = Field(
        default=None, description="Bottleneck blocks; default for depth 50 and more."
    )
    activation: Activation = Field(default_factory=lambda: ActivationSpec(type="relu"))
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0, description="Before the output layer.")
    pretrained: Literal["imagenet"] | None = Field(
        default=None,
        description="Start from the official ImageNet weights (torchvision's IMAGENET1K_V1, "
        "depth 18, 34 or 50); the 1,000-class head is replaced by the task's.",
    )

    @field_validator("depth")
    @classmethod
    def _check_depth(cls, depth: int) -> int:
        if depth not in RESNET_BLOCKS and (depth - 2) % 6:
            raise PydanticCustomError(
                "bad_depth",
                "must be 18, 34, 50, 101, 152 or 6n+2 (20, 32, 44, 56, 110); got {depth}",
                {"depth": depth},
            )
        return depth

    @model_validator(mode="after")
    def _check_pretrained(self) -> ResNetSpec:
        if self.pretrained is None:
            return self
        if self.depth not in PRETRAINED_RESNET_DEPTHS:
            raise PydanticCustomError(
                "bad_pretrained",
                "pretrained: imagenet weights exist for depth 18, 34 or 50; got depth {depth}",
                {"depth": self.depth},
            )
        changed = [
            key
            for key, value in (
                ("blocks", self.blocks),
                ("width", self.width),
                ("bottleneck", self.bottleneck),
            )
            if value is not None
        ]
        if self.stem == "cifar":
            changed.append("stem: cifar")
        if self.activation.type != "relu":
            changed.append(f"activation: {self.activation.type}")
        if changed:
            raise PydanticCustomError(
                "bad_pretrained",
                "pretrained: imagenet needs the published network; remove {changed}",
                {"changed": ", ".join(changed)},
            )
        return self


class _RecurrentTemplateSpec(TemplateSpec):
    cell: Literal["lstm", "gru", "rnn"] = Field(default="lstm", description="Recurrent cell.")
    units: _Width = Field(default=128, description="Hidden state size.")
    layers: int = Field(default=1, ge=1, le=8, description="Stacked recurrent layers.")
    dropout: float = Field(
        default=0.0, ge=0.0, lt=1.0, description="Between stacked layers and before the output."
    )


@template_spec("lstm_classifier")
class LstmClassifierSpec(_RecurrentTemplateSpec):
    """Sequence classifier: [embedding,] recurrent layers, the last state, dense layers."""

    template: Literal["lstm_classifier"] = "lstm_classifier"
    bidirectional: bool = False
    embedding_dim: _Width = Field(default=64, description="Token vector size (token inputs).")
    hidden: list[_Width] = Field(default_factory=list, description="Dense layers after the RNN.")


@template_spec("log_lstm")
class LogLstmSpec(_RecurrentTemplateSpec):
    """DeepLog (Du et al., CCS 2017): an embedding of log keys, stacked LSTM layers over the
    window of the last h keys, logits of the next key. A session is anomalous when one of
    its keys is not among the ``top_g`` most likely next keys."""

    template: Literal["log_lstm"] = "log_lstm"
    units: _Width = Field(default=64, description="Hidden state size (DeepLog: 64).")
    layers: int = Field(default=2, ge=1, le=8, description="Stacked LSTM layers (DeepLog: 2).")
    embedding_dim: _Width = Field(default=32, description="Key vector size.")
    top_g: int | None = Field(
        default=None,
        ge=1,
        le=1_000,
        description="A key outside the g most likely next keys is unexpected (DeepLog: 9); "
        "default: the smallest g that flags at most max_false_positive_rate of the "
        "validation sessions (all normal).",
    )
    max_false_positive_rate: float = Field(
        default=0.01,
        ge=0.0,
        lt=1.0,
        description="When top_g is not set: the share of normal validation sessions g may flag.",
    )


@template_spec("text_classifier")
class TextClassifierSpec(_RecurrentTemplateSpec):
    """Text classifier over token ids: embedding, recurrent layers, the last state (or the
    maximum or mean over every step), dropout, dense layers, class logits."""

    template: Literal["text_classifier"] = "text_classifier"
    units: _Width = Field(default=64, description="Hidden state size.")
    embedding_dim: _Width = Field(default=64, description="Token vector size.")
    bidirectional: bool = Field(default=False, description="Read the text both ways.")
    pooling: Literal["last", "max", "mean"] = Field(
        default="last",
        description="last: the final hidden state; max or mean: over the states of every step.",
    )
    dropout: float = Field(
        default=0.2,
        ge=0.0,
        lt=1.0,
        description="After the embedding, between stacked layers and before the output.",
    )
    hidden: list[_Width] = Field(default_factory=list, description="Dense layers after the RNN.")


@template_spec("lstm_forecaster")
class LstmForecasterSpec(_RecurrentTemplateSpec):
    """Forecaster: recurrent layers read the window; a dense layer predicts every step ahead."""

    template: Literal["lstm_forecaster"] = "lstm_forecaster"
    units: _Width = Field(default=64, description="Hidden state size.")
    hidden: list[_Width] = Field(default_factory=list, description="Dense layers after the RNN.")


@template_spec("lstm_autoencoder")
class LstmAutoencoderSpec(_RecurrentTemplateSpec):
    """Sequence autoencoder: encode the window into one vector, decode it step by step.

    The reconstruction error of a window is its anomaly score.
    """

    template: Literal["lstm_autoencoder"] = "lstm_autoencoder"
    units: _Width = Field(default=64, description="Hidden state size.")
    latent: _Width | None = Field(default=None, description="Code size; default units.")


@template_spec("char_rnn")
class CharRnnSpec(_RecurrentTemplateSpec):
    """Character-level language model (Karpathy's char-rnn): embedding, stacked LSTM, logits
    for the next token at every step; samples text with a temperature."""

    template: Literal["char_rnn"] = "char_rnn"
    units: _Width = Field(default=256, description="Hidden state size.")
    layers: int = Field(default=2, ge=1, le=8, description="Stacked recurrent layers.")
    embedding_dim: _Width = Field(default=64, description="Token vector size.")


@template_spec("dcgan")
class DcganSpec(TemplateSpec):
    """DCGAN (Radford et al., 2016): a generator of transposed convolutions from a latent
    vector, and a convolutional discriminator. Initialized N(0, 0.02) unless ``init`` says."""

    template: Literal["dcgan"] = "dcgan"
    latent_dim: _Width = Field(default=100, description="Size of the noise vector z.")
    generator_width: _Width = Field(
        default=64, description="Channels of the generator's last hidden layer (doubled back)."
    )
    discriminator_width: _Width = Field(
        default=64, description="Channels of the discriminator's first layer (doubled on)."
    )
    upsamplings: int | None = Field(
        default=None,
        ge=1,
        le=6,
        description="Doublings from the first feature map to the image; default as many as "
        "the image size allows (at most 4).",
    )
    slope: float = Field(default=0.2, gt=0.0, lt=1.0, description="Leaky ReLU slope (D).")
    output: Literal["tanh", "sigmoid", "linear"] = Field(
        default="tanh", description="Generator output: tanh for data in [-1, 1]."
    )


@template_spec("centernet")
class CenterNetSpec(TemplateSpec):
    """CenterNet (Zhou, Wang & Krahenbuhl, 2019, "Objects as Points"): a convolutional
    backbone down to 1/2^depth of the input, upsampling back to 1/4, and heatmap / size /
    offset heads; boxes are decoded from heatmap peaks, without non-maximum suppression."""

    template: Literal["centernet"] = "centernet"
    width: _Width = Field(default=16, description="Filters after the stem, doubled per stage.")
    max_width: _Width = Field(default=128, description="Upper limit of the filters.")
    depth: int = Field(
        default=3, ge=2, le=6, description="Stride-2 stages: features at 1/2^depth of the input."
    )
    convs: int = Field(
        default=1, ge=0, le=4, description="Extra 3x3 convolutions in each downsampling stage."
    )
    head_width: _Width = Field(default=32, description="Channels of the 3x3 head convolution.")
    batchnorm: bool = Field(default=True, description="Batch norm after each convolution.")
    activation: Activation = Field(default_factory=lambda: ActivationSpec(type="relu"))


def _check_template(value: Any) -> Any:
    if isinstance(value, dict) and "template" in value:
        name = value["template"]
        if name not in TEMPLATE_SPECS:
            hint = closest(str(name), list(TEMPLATE_SPECS))
            raise PydanticCustomError(
                "unknown_template",
                "unknown template '{name}'{suggestion}; valid: {valid}",
                {
                    "name": name,
                    "suggestion": f" (did you mean '{hint}'?)" if hint else "",
                    "valid": choices_text(list(TEMPLATE_SPECS)),
                },
            )
    elif isinstance(value, dict) and "layers" not in value:
        raise PydanticCustomError(
            "bad_model",
            "a model needs 'template' (one of {valid}) or 'layers'",
            {"valid": choices_text(list(TEMPLATE_SPECS))},
        )
    return value


def _model_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("template", "layers")
    return getattr(value, "template", "layers")


def _model_union() -> Any:
    members = [Annotated[LayerStackSpec, Tag("layers")]]
    members += [Annotated[cls, Tag(name)] for name, cls in TEMPLATE_SPECS.items()]
    return Annotated[
        Union[tuple(members)],  # noqa: UP007 - built from the registry at import time
        Discriminator(_model_tag),
        BeforeValidator(_check_template),
    ]


ModelSpec = _model_union()
"""A layer stack or any registered template."""
