"""Network templates: each expands its options and the data's schema into layers."""

from __future__ import annotations

from collections.abc import Callable

from athanor.data.schema import Schema
from athanor.spec.layers import LayerSpec
from athanor.spec.model import TemplateSpec

TemplateBuilder = Callable[[TemplateSpec, Schema], list[LayerSpec]]
TEMPLATE_BUILDERS: dict[str, TemplateBuilder] = {}


def template_builder(name: str) -> Callable[[TemplateBuilder], TemplateBuilder]:
    """Register how template ``name`` expands into layers (the output layer is added after)."""

    def register(builder: TemplateBuilder) -> TemplateBuilder:
        if name in TEMPLATE_BUILDERS:
            raise ValueError(f"template {name!r} registered twice")
        TEMPLATE_BUILDERS[name] = builder
        return builder

    return register


from athanor.nets.templates import lenet, mlp  # noqa: E402, F401 - registration
