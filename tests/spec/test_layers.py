"""Layer and activation specs: shorthands, registries and per-field limits."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from athanor.nets.activations import _FACTORIES
from athanor.nets.registry import BLOCK_BUILDERS
from athanor.spec.activations import ACTIVATIONS, Activation
from athanor.spec.layers import LAYER_SPECS, Layer

layer = TypeAdapter(Layer)
activation = TypeAdapter(Activation)


def test_every_layer_spec_has_a_builder_and_back() -> None:
    import athanor.nets.builder  # noqa: F401 - registers the builders

    assert set(LAYER_SPECS) == set(BLOCK_BUILDERS)
    assert set(ACTIVATIONS) == set(_FACTORIES)


@pytest.mark.parametrize(
    ("written", "field", "value"),
    [
        ({"dense": 10}, "units", 10),
        ({"maxpool": 3}, "size", 3),
        ({"dropout": 0.25}, "rate", 0.25),
        ({"conv2d": 8}, "filters", 8),
        ({"conv2d": {"filters": 8, "kernel": [3, 5]}}, "kernel", (3, 5)),
        ({"type": "dense", "units": 4}, "units", 4),
        ("flatten", "type", "flatten"),
        ({"activation": "tanh"}, "function", activation.validate_python("tanh")),
        ({"embedding": 16}, "dim", 16),
        ({"lstm": 32}, "units", 32),
        ({"gru": 8}, "units", 8),
        ({"residual": 64}, "filters", 64),
        ({"repeat": 5}, "times", 5),
        ({"reshape": [28, 28]}, "shape", [28, 28]),
        ({"permute": [1, 0]}, "order", [1, 0]),
        ({"upsample": 2}, "scale", 2),
        ({"stochasticpool": 3}, "size", 3),
        ({"conv_transpose2d": 4}, "filters", 4),
        ("globalavgpool", "type", "globalavgpool"),
    ],
)
def test_shorthands(written: object, field: str, value: object) -> None:
    assert getattr(layer.validate_python(written), field) == value


def test_activation_forms() -> None:
    assert activation.validate_python({"leaky_relu": {"alpha": 0.2}}).alpha == 0.2
    assert activation.validate_python({"type": "maxout", "pieces": 3}).widen == 3
    assert activation.validate_python("relu").widen == 1
    with pytest.raises(ValidationError, match="alpha applies only to leaky_relu and elu"):
        activation.validate_python({"type": "relu", "alpha": 0.1})
    with pytest.raises(ValidationError, match="did you mean 'swish'"):
        activation.validate_python("swsh")


def test_limits() -> None:
    for bad in (
        {"dense": 0},
        {"dropout": 1.0},
        {"conv2d": {"filters": 4, "padding": "half"}},
        {"dense": {"units": 4, "name": "has space"}},
        {"dense": 1, "conv2d": 2},
    ):
        with pytest.raises(ValidationError):
            layer.validate_python(bad)


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ({"lstm": {"units": 8, "dropout": 0.2}}, "dropout acts between stacked layers"),
        ({"residual": {"filters": 8, "kernel": 4}}, "a residual block takes an odd kernel"),
        ({"residual": {"filters": 8, "activation": "maxout"}}, "maxout changes the width"),
        ({"reshape": [-1, -1]}, "at most one -1"),
        ({"permute": [0, 0]}, "order must list each dimension 0..1 once"),
        (
            {"conv_transpose2d": {"filters": 2, "stride": 2, "output_padding": 2}},
            "output_padding must be smaller than the stride or the dilation",
        ),
        ({"conv_transpose2d": {"filters": 2, "padding": "full"}}, "valid"),
        ({"upsample": {"mode": "cubic"}}, "nearest"),
        ({"layernorm": {"dims": 4}}, "less than or equal to 3"),
        ({"dense": {"units": 4, "init": "glorot"}}, "unknown initializer 'glorot'"),
    ],
)
def test_new_layers_explain_their_limits(written: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        layer.validate_python(written)
