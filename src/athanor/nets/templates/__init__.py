"""Network templates: each expands its options and the data's schema into a network.

A template builder returns the layers (the output layer sized from the task is appended),
an :class:`Expansion` (layers, whether to append the output layer, which Network class), or,
for networks that are not one stack of layers, a finished ``nn.Module``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from athanor.data.schema import Schema
from athanor.errors import ShapeError
from athanor.nets.network import Network
from athanor.spec.layers import LayerSpec
from athanor.spec.model import TemplateSpec


@dataclass
class Expansion:
    """The layers a template stands for."""

    layers: list[LayerSpec]
    head: bool = True
    """Append the output layer sized from the task."""
    network_class: type[Network] = Network


TemplateBuilder = Callable[[TemplateSpec, Schema], "list[LayerSpec] | Expansion | nn.Module"]
TEMPLATE_BUILDERS: dict[str, TemplateBuilder] = {}


def template_builder(name: str) -> Callable[[TemplateBuilder], TemplateBuilder]:
    """Register how template ``name`` is built."""

    def register(builder: TemplateBuilder) -> TemplateBuilder:
        if name in TEMPLATE_BUILDERS:
            raise ValueError(f"template {name!r} registered twice")
        TEMPLATE_BUILDERS[name] = builder
        return builder

    return register


def expected_text(schema: Schema) -> str:
    """What the network's output means, for error messages ("10 classes")."""
    return {
        "classification": f"{len(schema.classes or [])} classes",
        "regression": f"{schema.targets} target value(s)",
        "forecasting": f"{schema.horizon} steps ahead x {schema.targets} value(s)",
        "language_model": "next-token logits per step",
        "detection": "heatmap, size and offset maps per class",
        "next_key": f"logits of the {len(schema.input.vocab or [])} log keys",
    }.get(schema.task, f"the {schema.task} of the input")


def require_input(template: str, schema: Schema, kinds: tuple[str, ...], hint: str = "") -> None:
    """Refuse data whose input kind the template cannot read.

    Raises:
        ShapeError: naming the template, what it needs and what the data gives.
    """
    if schema.input.kind not in kinds:
        need = " or ".join(_KIND_TEXT[k] for k in kinds)
        raise ShapeError(
            f"template {template} needs {need}; the data gives {schema.input.kind} inputs "
            f"{schema.input.shape}{hint}"
        )


def require_task(template: str, schema: Schema, tasks: tuple[str, ...]) -> None:
    """Refuse a task the template does not solve.

    Raises:
        ShapeError: naming the template, the tasks it solves and the data's task.
    """
    if schema.task not in tasks:
        raise ShapeError(
            f"template {template} solves {' or '.join(tasks)}; the data's task is {schema.task}"
        )


_KIND_TEXT = {
    "image": "images [channels, height, width]",
    "tabular": "tables [features]",
    "sequence": "sequences [steps, features]",
    "tokens": "token ids [steps]",
}

from athanor.nets.templates import (  # noqa: E402, F401 - registration
    centernet,
    dcgan,
    lenet,
    log_lstm,
    mlp,
    recurrent,
    resnet,
    vgg,
)
