"""Model specs: an explicit stack of layers, or a named template with its options.

``model: {layers: [...]}`` builds exactly the listed layers; ``model: {template: lenet5, ...}``
expands a template sized from the dataset's schema. Templates register their option class here
with :func:`template_spec`; ``athanor.nets.templates`` registers how each one is built.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BeforeValidator, Discriminator, Field, Tag
from pydantic_core import PydanticCustomError

from athanor._choices import choices_text, closest
from athanor.spec.activations import Activation, ActivationSpec
from athanor.spec.base import StrictModel
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


class TemplateSpec(StrictModel):
    """Options shared by every template."""

    template: str


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
